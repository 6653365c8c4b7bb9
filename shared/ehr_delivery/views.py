"""The JSON (and page model) of a record's EHR status and of the clinic's "not in the EHR" list, the same in every
service. What to do is said with each status: a refused note or order is not in the chart, and a clinician must
act on it. Pure: the caller says which rows the viewer may see in full (``shared/ehr_delivery/access.py``)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.ehr_delivery.model import STATUS_LABELS, Delivery, EhrStatus, RecordEhrStatus
from shared.record_schema import BOOLEAN, DATE_TIME, INTEGER, STRING, array, nullable, obj

KIND_LABELS = {"intake": "Intake", "order": "Order", "session": "Infusion session", "note": "Signed note",
               "course": "Treatment course"}
INTEGRATION_TEAM = "the EHR integration team"
WHAT_TO_DO_REFUSED = {
    "note": ("The note is not in the patient's chart. Correct what the EHR names, then amend the note to send it "
             "again; until the EHR applies it, record the procedure by the clinic's downtime procedure."),
    "order": ("The order is not in the EHR: the EHR's medication record and the pharmacy do not see it. Do not give "
              "an infusion on it until the EHR has it; correct what the EHR names (cancel and order again if "
              "needed)."),
    "session": ("Part of this session's record is not in the chart (the message named below). Check the chart and "
                "record what is missing by the clinic's downtime procedure."),
    "intake": ("The eligibility decision is not in the chart. Correct what the EHR names and decide again (reopen "
               "the intake), or record it by the clinic's downtime procedure."),
}
WHAT_TO_DO = {
    EhrStatus.RETRYING: ("The EHR could not apply it yet and is trying again: nothing to do now. If it stays like "
                         f"this, tell {INTEGRATION_TEAM}."),
    EhrStatus.SENT: ("The EHR has not answered yet. If this lasts, the link to the EHR may be down: check the chart "
                     f"before relying on it and tell {INTEGRATION_TEAM}."),
}


def what_to_do(record_kind: str, status: EhrStatus | None) -> str | None:
    if status is EhrStatus.REFUSED:
        return (WHAT_TO_DO_REFUSED.get(record_kind, "It is not in the patient's chart: record it by the clinic's "
                                                    "downtime procedure.")
                + f" Tell {INTEGRATION_TEAM}, quoting the message id.")
    return WHAT_TO_DO.get(status) if status is not None else None


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {"message_id": delivery.message_id, "event_code": delivery.event_code,
            "status": delivery.status.value, "label": STATUS_LABELS[delivery.status],
            "sent_at": delivery.queued_at.isoformat(), "relayed": delivery.relayed,
            "answered_at": delivery.answered_at.isoformat() if delivery.answered_at else None,
            "reasons": list(delivery.reasons)}


def record_status_json(status: RecordEhrStatus) -> dict[str, Any]:
    """A record's ``ehr_status``: the worst status of its messages, the reasons of the refused ones, what to do, and
    every message (``status`` "not-sent" when nothing was sent yet)."""
    return {"status": status.status.value if status.status else "not-sent", "label": status.label,
            "kind": KIND_LABELS.get(status.record_kind, status.record_kind),
            "reasons": [reason for d in status.refused for reason in d.reasons],
            "refused_messages": [d.message_id for d in status.refused],
            "what_to_do": what_to_do(status.record_kind, status.status),
            "messages": [delivery_json(d) for d in status.deliveries]}


def outstanding_json(deliveries: list[Delivery], full: Callable[[Delivery], bool],
                     link: Callable[[Delivery], str | None], now: datetime, answer_wait_s: int
                     ) -> dict[str, Any]:
    """The service's part of the "not in the EHR" list. A row the viewer may not see in full (another patient's,
    for a session opened from one patient's chart) keeps the record's kind, id, time and status only: no patient,
    no reasons (the EHR's texts may name clinical details)."""
    rows = []
    for delivery in deliveries:
        shown = full(delivery)
        rows.append({
            "record_kind": delivery.record_kind, "kind": KIND_LABELS.get(delivery.record_kind, delivery.record_kind),
            "record_id": delivery.record_id, "message_id": delivery.message_id, "event_code": delivery.event_code,
            "sent_at": delivery.queued_at.isoformat(), "relayed": delivery.relayed,
            "waited_s": round(delivery.waited_s(now)), "status": delivery.status.value,
            "label": STATUS_LABELS[delivery.status],
            "reasons": list(delivery.reasons) if shown else None,
            "patient_id": delivery.patient_id if shown else None,
            "detail_withheld": not shown, "link": link(delivery)})
    return {"answer_wait_s": answer_wait_s, "count": len(rows), "records": rows}


# --- the JSON Schemas of the above, for the services' OpenAPI documents ------------------------------------------
STATUS_VALUES = {"type": "string", "enum": [status.value for status in EhrStatus]}
MESSAGE_SCHEMA = obj({"message_id": STRING, "event_code": STRING, "status": STATUS_VALUES, "label": STRING,
                      "sent_at": DATE_TIME, "relayed": BOOLEAN, "answered_at": nullable(DATE_TIME),
                      "reasons": array(STRING)})
EHR_STATUS_SCHEMA = obj({
    "status": {"type": "string", "enum": ["not-sent", *STATUS_VALUES["enum"]]}, "label": STRING, "kind": STRING,
    "reasons": array(STRING), "refused_messages": array(STRING), "what_to_do": nullable(STRING),
    "messages": array(MESSAGE_SCHEMA)})
NOT_IN_EHR_ROW_SCHEMA = obj({
    "record_kind": STRING, "kind": STRING, "record_id": STRING, "message_id": STRING, "event_code": STRING,
    "sent_at": DATE_TIME, "relayed": BOOLEAN, "waited_s": INTEGER, "status": STATUS_VALUES, "label": STRING,
    "reasons": nullable(array(STRING)), "patient_id": nullable(STRING), "detail_withheld": BOOLEAN,
    "link": nullable(STRING)})
NOT_IN_EHR_SCHEMA = obj({"answer_wait_s": INTEGER, "count": INTEGER, "records": array(NOT_IN_EHR_ROW_SCHEMA)})

