"""Settings of the operations tools, from the environment and validated at start-up like every other.

``KETALINK_OPS_*`` (who may use the operations page):

- ``role_codes`` (``system|code`` of ``PractitionerRole.code``, comma-separated). Default HL7 practitioner-role
  ``ict`` ("ICT professional", the FHIR R4 practitioner-role value set): the clinic's IT and integration staff, not
  its clinicians. Dead letters and held records are ids and reasons only, but replaying or discarding one changes
  what reaches the EHR, so it is for whom the clinic names.
- ``scopes`` (comma-separated token scopes that grant it, for an EHR that grants roles as scopes; default none).

``KETALINK_RETENTION_*`` (``python -m shared.ops <service> prune``): see ``RetentionSettings``.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.roles import PRACTITIONER_ROLE_SYSTEM

ROLE_ICT = f"{PRACTITIONER_ROLE_SYSTEM}|ict"

# How long Kafka keeps what could reach a consumer again (deploy/render/kafka.py): a dead letter is kept 30 days and
# replayed into a source topic that keeps records 7 days, where a consumer group reset could read it once more.
DEAD_LETTER_RETENTION_DAYS = 30
EVENT_RETENTION_DAYS = 7
MIN_PROCESSED_DAYS = DEAD_LETTER_RETENTION_DAYS + EVENT_RETENTION_DAYS + 1


@dataclass(frozen=True)
class OpsAccessSettings:
    """``KETALINK_OPS_ROLE_CODES`` and ``KETALINK_OPS_SCOPES`` (see the module docstring)."""

    role_codes: tuple[str, ...] = (ROLE_ICT,)
    scopes: tuple[str, ...] = ()

    def validate(self) -> None:
        if not self.role_codes and not self.scopes:
            raise ValueError("role_codes or scopes must grant the operations page to someone")
        for code in self.role_codes:
            system, bar, value = code.partition("|")
            if not bar or not system.startswith(("http://", "https://", "urn:")) or not value or "|" in value:
                raise ValueError(f"role_codes: {code!r} is not system|code (system an http(s) or urn URI)")
        for scope in self.scopes:
            if not scope or any(ch.isspace() for ch in scope):
                raise ValueError(f"scopes: {scope!r} is not a scope")


@dataclass(frozen=True)
class RetentionSettings:
    """``KETALINK_RETENTION_*``: how many days each kind of bookkeeping row is kept before ``prune`` deletes it.

    - ``processed_days`` (default 90, at least ``MIN_PROCESSED_DAYS`` = 38): the ids of inbound messages already
      handled. They are what makes a redelivered message a no-op, so they must outlive every way a message can
      arrive again: a dead letter is kept 30 days and may be replayed on its last day into a source topic that
      keeps it 7 more days, where a consumer group reset could deliver it again. An id pruned earlier would let that
      message be applied twice (a second intake, a second order change in the EHR).
    - ``idempotency_days`` (default 30, at least 1): answers kept for clients retrying with an ``Idempotency-Key``;
      a retry after that is a new request.
    - ``outbox_sent_days`` (default 14, at least 1): events the broker has acknowledged; kept only to trace what was
      sent when. Unsent events are never pruned.
    - ``held_discarded_days`` (default 30, at least 1): held records ops discarded, counted from when they were
      held; the audit entry of the discard (``ops_actions``) stays.
    - ``batch_size`` (default 1000, 1-100000): rows deleted per transaction, so a prune never holds long locks.
    """

    processed_days: int = 90
    idempotency_days: int = 30
    outbox_sent_days: int = 14
    held_discarded_days: int = 30
    batch_size: int = 1000

    def validate(self) -> None:
        if self.processed_days < MIN_PROCESSED_DAYS:
            raise ValueError(f"processed_days must be at least {MIN_PROCESSED_DAYS} (dead-letter retention "
                             f"{DEAD_LETTER_RETENTION_DAYS} d + event retention {EVENT_RETENTION_DAYS} d + 1): a "
                             "replayed or redelivered message must still be known as processed")
        if min(self.idempotency_days, self.outbox_sent_days, self.held_discarded_days) < 1:
            raise ValueError("idempotency_days, outbox_sent_days and held_discarded_days must be at least 1")
        if not 1 <= self.batch_size <= 100_000:
            raise ValueError("batch_size must be 1-100000")
