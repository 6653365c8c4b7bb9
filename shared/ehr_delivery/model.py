"""The EHR status of a clinician's work: what the EHR's integration engine did with each message a service sent it,
and what that means for the record (intake, order, session, note, course) the message belongs to.

Statuses, from the EHR's response message (``MessageHeader.response.code``, FHIR R4 messaging):

- ``sent``: enqueued or relayed to the broker, no answer yet;
- ``applied``: ``ok``, in the chart;
- ``refused``: ``fatal-error``, not in the chart, the EHR's reasons in the OperationOutcome; nobody resends it;
- ``retrying``: ``transient-error``, not in the chart yet, the EHR's engine tries again.

A record's status is the worst of its messages' (refused, then retrying, then sent, then applied): a refused
reading stays a gap in the chart however many later messages of the session were applied. Pure: no SQL or Flask.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.fhir.messaging import ResponseCode


class EhrStatus(str, enum.Enum):
    SENT = "sent"
    APPLIED = "applied"
    REFUSED = "refused"
    RETRYING = "retrying"


STATUS_LABELS = {
    EhrStatus.SENT: "Sent, awaiting the EHR's answer",
    EhrStatus.APPLIED: "In the EHR",
    EhrStatus.REFUSED: "Refused by the EHR: not in the chart",
    EhrStatus.RETRYING: "Not in the EHR yet: the EHR is retrying",
}
NOTHING_SENT_LABEL = "Nothing sent to the EHR yet"
WORST_FIRST = (EhrStatus.REFUSED, EhrStatus.RETRYING, EhrStatus.SENT, EhrStatus.APPLIED)
FINAL = frozenset({EhrStatus.APPLIED, EhrStatus.REFUSED})
_BY_RESPONSE = {ResponseCode.OK: EhrStatus.APPLIED, ResponseCode.FATAL_ERROR: EhrStatus.REFUSED,
                ResponseCode.TRANSIENT_ERROR: EhrStatus.RETRYING}


def status_for_response(code: ResponseCode) -> EhrStatus:
    return _BY_RESPONSE[code]


def next_status(current: EhrStatus, answered: EhrStatus) -> EhrStatus:
    """A final answer (applied or refused) stands: a ``transient-error`` arriving after it (a late or redelivered
    answer) does not make an applied note look unsent again. A later final answer replaces an earlier one (the
    EHR's engine retried and decided)."""
    if current in FINAL and answered not in FINAL:
        return current
    return answered


@dataclass(frozen=True)
class Delivery:
    """One message sent to the EHR. ``relayed``: the broker has it (the outbox relay sent it)."""

    message_id: str
    event_code: str
    record_kind: str
    record_id: str
    patient_id: str
    queued_at: datetime
    status: EhrStatus
    reasons: tuple[str, ...]
    answered_at: datetime | None
    relayed: bool

    def waited_s(self, now: datetime) -> float:
        return max(0.0, (now - self.queued_at).total_seconds())

    def outstanding(self, now: datetime, answer_wait_s: float) -> bool:
        """Not in the chart and someone should know: refused, retrying, or sent and unanswered for too long."""
        if self.status is EhrStatus.SENT:
            return self.waited_s(now) > answer_wait_s
        return self.status is not EhrStatus.APPLIED


@dataclass(frozen=True)
class RecordEhrStatus:
    """A record's status over all its messages; ``status`` None when nothing was sent for it yet."""

    record_kind: str
    record_id: str
    status: EhrStatus | None
    deliveries: tuple[Delivery, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status] if self.status else NOTHING_SENT_LABEL

    @property
    def refused(self) -> tuple[Delivery, ...]:
        return tuple(d for d in self.deliveries if d.status is EhrStatus.REFUSED)

    @property
    def not_applied(self) -> tuple[Delivery, ...]:
        return tuple(d for d in self.deliveries if d.status is not EhrStatus.APPLIED)


def record_status(record_kind: str, record_id: str, deliveries: list[Delivery] | tuple[Delivery, ...]
                  ) -> RecordEhrStatus:
    ordered = tuple(sorted(deliveries, key=lambda d: d.queued_at))
    present = {d.status for d in ordered}
    worst = next((status for status in WORST_FIRST if status in present), None)
    return RecordEhrStatus(record_kind, record_id, worst, ordered)


@dataclass(frozen=True)
class EhrStatusSettings:
    """``KETALINK_EHR_ANSWER_WAIT_S``: how long a sent message may go unanswered before the "not in the EHR" list
    shows it (default 300 s). The EHR's engine answers within seconds while the broker, the relay and the engine
    run; minutes without an answer mean one of them is stuck, and the clinician should not assume it is charted.

    ``KETALINK_EHR_STATUS_PEERS``: the Ketalink services' public base URLs, comma-separated (default none), so each
    service's "not in the EHR" page links the others' (its own is skipped): each service keeps only its own
    records. ``make run`` sets it to the three local services."""

    answer_wait_s: int = 300
    status_peers: tuple[str, ...] = ()

    def validate(self) -> None:
        if not 10 <= self.answer_wait_s <= 86_400:
            raise ValueError("answer_wait_s: must be between 10 and 86400 seconds")
        for url in self.status_peers:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"status_peers: {url!r} is not an http(s) URL")

    @property
    def answer_wait(self) -> timedelta:
        return timedelta(seconds=self.answer_wait_s)
