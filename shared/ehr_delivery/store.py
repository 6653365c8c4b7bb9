"""The ``ehr_deliveries`` table of a service's own store: a row per message sent to the EHR, written in the
transaction that enqueues the message (so a message is never sent untracked) and updated in the consumer's
transaction that handles the EHR's answer (so a redelivered answer changes nothing twice).

``ehr.responses`` carries the answers to every service's messages; a service finds only its own messages here, so
an answer to another service's message is simply not ours (``record_response`` returns None)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from shared.db import ehr_deliveries, outbox, utcnow
from shared.ehr_delivery.model import (
    Delivery, EhrStatus, EhrStatusSettings, RecordEhrStatus, next_status, record_status, status_for_response,
)
from shared.fhir.messaging import Message

MAX_REASONS = 20  # an OperationOutcome with more issues is cut to this many (the page and the row stay readable)
MAX_REASON_CHARS = 500


def track(conn: Connection, message_id: str, event_code: str, record_kind: str, record_id: str,
          patient_id: str) -> None:
    """Note a message enqueued for the EHR (call in the transaction that enqueues it)."""
    conn.execute(ehr_deliveries.insert().values(
        message_id=message_id, event_code=event_code, record_kind=record_kind, record_id=record_id,
        patient_id=patient_id, queued_at=utcnow(), status=EhrStatus.SENT.value, reasons="[]", answered_at=None))


def record_response(conn: Connection, message: Message) -> Delivery | None:
    """Keep the EHR's answer with the message it answers; None when that message is not this service's."""
    if message.response_to is None or message.response_code is None:
        return None
    row = conn.execute(_deliveries().where(ehr_deliveries.c.message_id == message.response_to)).mappings().first()
    if row is None:
        return None
    current = _delivery(row)
    answered = status_for_response(message.response_code)
    if next_status(current.status, answered) is not answered:
        return current  # a late transient-error after the final answer: nothing changes
    reasons = () if answered is EhrStatus.APPLIED else response_reasons(message)
    now = utcnow()
    conn.execute(ehr_deliveries.update().where(ehr_deliveries.c.message_id == current.message_id).values(
        status=answered.value, reasons=json.dumps(list(reasons)), answered_at=now))
    return Delivery(current.message_id, current.event_code, current.record_kind, current.record_id,
                    current.patient_id, current.queued_at, answered, reasons, now, True)


def response_reasons(message: Message) -> tuple[str, ...]:
    """The EHR's issue texts from the response's OperationOutcome (``details.text``, else ``diagnostics``, else the
    issue code), cut to a readable size."""
    outcome = message.first("OperationOutcome") or {}
    reasons = []
    for issue in outcome.get("issue", [])[:MAX_REASONS]:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
        text = details.get("text") or issue.get("diagnostics") or issue.get("code") or ""
        if isinstance(text, str) and text.strip():
            reasons.append(text.strip()[:MAX_REASON_CHARS])
    return tuple(reasons)


def statuses_of(conn: Connection, record_kind: str, record_ids: Iterable[str]) -> dict[str, RecordEhrStatus]:
    """Each record's status (every id asked for is in the answer; one with nothing sent has status None)."""
    ids = list(dict.fromkeys(record_ids))
    found: dict[str, list[Delivery]] = {record_id: [] for record_id in ids}
    if ids:
        rows = conn.execute(_deliveries().where(ehr_deliveries.c.record_kind == record_kind,
                                                ehr_deliveries.c.record_id.in_(ids))).mappings().all()
        for row in rows:
            found[row["record_id"]].append(_delivery(row))
    return {record_id: record_status(record_kind, record_id, deliveries) for record_id, deliveries in found.items()}


def outstanding(conn: Connection, settings: EhrStatusSettings, now: datetime | None = None,
                limit: int = 500) -> list[Delivery]:
    """The clinic's messages not in the chart: refused, retrying, or sent and unanswered for longer than
    ``settings.answer_wait_s``; oldest first (one query on the status index)."""
    now = now or utcnow()
    rows = conn.execute(_deliveries().where(or_(
        ehr_deliveries.c.status.in_([EhrStatus.REFUSED.value, EhrStatus.RETRYING.value]),
        and_(ehr_deliveries.c.status == EhrStatus.SENT.value, ehr_deliveries.c.queued_at < now - settings.answer_wait),
    )).order_by(ehr_deliveries.c.queued_at).limit(limit)).mappings().all()
    return [_delivery(row) for row in rows]


def _deliveries() -> Any:
    """The rows with the outbox's sent time: a message the outbox no longer holds was sent (only sent rows are
    pruned)."""
    return select(ehr_deliveries, outbox.c.sent_at, outbox.c.message_id.label("outbox_message_id")).select_from(
        ehr_deliveries.outerjoin(outbox, outbox.c.message_id == ehr_deliveries.c.message_id))


def _delivery(row: Any) -> Delivery:
    relayed = row["outbox_message_id"] is None or row["sent_at"] is not None
    return Delivery(row["message_id"], row["event_code"], row["record_kind"], row["record_id"], row["patient_id"],
                    _utc(row["queued_at"]), EhrStatus(row["status"]), tuple(json.loads(row["reasons"] or "[]")),
                    _utc(row["answered_at"]) if row["answered_at"] is not None else None, relayed)


def _utc(moment: datetime) -> datetime:
    """SQLite keeps no offset; every time stored here is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
