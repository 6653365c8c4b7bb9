"""What the EHR did with a session's and a note's messages, against the real broker, EHR sandbox and documentation
service: each status (sent, applied, refused with the EHR's reasons, retrying) on the session and the note, and
the service's part of the clinic's "not in the EHR" list.

The sandbox refuses what is filed to a chart the EHR closed (``Patient.active`` false,
``deploy/ehr_sandbox/chart_rules.py``), so each test gets a patient of its own and closes that chart; it answers
``transient-error`` for a message it sets aside to retry (one that points at a visit the EHR never filed)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.documentation.charting import close_chart, document_to_discharge, new_patient
from tests.integration.documentation.clinic import DOCTOR, NURSE, Clinic, PublishedOrder, clinical_times, pre_check
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
CLOSED_CHART = "is not active in the EHR"


def test_a_signed_note_the_ehr_refuses_shows_refused_with_the_reasons(clinic: Clinic):
    order = _order_for_new_patient(clinic)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=3)
    assert clinic.get(path)["ehr_status"]["status"] == "not-sent"  # scheduled: nothing sent to the EHR yet
    document_to_discharge(clinic, order, path, t)
    applied = _status_becomes(clinic, path, "applied")
    assert applied["messages"] and {m["status"] for m in applied["messages"]} == {"applied"}
    assert {m["event_code"] for m in applied["messages"]} >= {"session-started", "vitals-recorded",
                                                             "session-completed"}

    draft = clinic.post(f"{path}/notes", {"by": DOCTOR, "at": t(90)}, expect=201)
    _close_chart(clinic, order.patient_id)
    signed = clinic.post(f"/notes/{draft['note_id']}/sign", {"by": DOCTOR, "at": t(95), "attested": True})
    assert signed["status"] == "signed"

    refused = _status_becomes(clinic, f"/notes/{draft['note_id']}", "refused")
    assert refused["kind"] == "Signed note" and len(refused["reasons"]) == 1
    assert CLOSED_CHART in refused["reasons"][0] and f"Patient/{order.patient_id}" in refused["reasons"][0]
    assert "amend the note" in refused["what_to_do"]
    (message,) = refused["messages"]
    assert message["event_code"] == "note-signed" and message["relayed"] is True
    assert refused["refused_messages"] == [message["message_id"]]
    listed = clinic.get(f"/sessions/{session_id}/notes")["notes"]
    assert [n["ehr_status"]["status"] for n in listed] == ["refused"]
    assert clinic.get(path)["ehr_status"]["status"] == "applied"  # the session's own messages are in the chart

    row = _listed(clinic, message["message_id"])
    assert row["record_kind"] == "note" and row["record_id"] == draft["note_id"]
    assert row["status"] == "refused" and CLOSED_CHART in row["reasons"][0]
    assert row["link"] == f"/ui/notes/{draft['note_id']}" and row["patient_id"] == order.patient_id


def test_session_messages_sent_refused_and_retrying(clinic: Clinic):
    order = _order_for_new_patient(clinic)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=2)
    _close_chart(clinic, order.patient_id)
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": t(0)})  # session-started: the EHR refuses it
    refused = _status_becomes(clinic, path, "refused")
    (started,) = refused["messages"]
    assert started["event_code"] == "session-started" and CLOSED_CHART in started["reasons"][0]
    assert "Part of this session's record is not in the chart" in refused["what_to_do"]

    # The chart is open again, but the visit was never filed: the reading, which points at it, cannot be filed
    # yet. The EHR's engine sets it aside to retry and answers transient-error: "the EHR is retrying".
    _close_chart(clinic, order.patient_id, active=True)
    clinic.post(f"{path}/pre-check", pre_check(t(5), 128, 82, reading_id="pre-1"))
    session = clinic.get(path)["ehr_status"]
    reading = next(m for m in session["messages"] if m["event_code"] == "vitals-recorded")
    assert reading["status"] in ("sent", "retrying")  # the engine holds it after a few tries in line
    assert session["status"] == "refused"  # the worst of its messages
    if reading["status"] == "sent":
        assert reading["answered_at"] is None
        assert _listed(clinic, reading["message_id"], present=False) is None  # sent just now: not overdue yet

    retrying = wait_for(lambda: _message(clinic.get(path)["ehr_status"], reading["message_id"], "retrying"),
                        timeout_s=60, what="the reading waiting on the EHR's retry")
    assert retrying["reasons"] == ["the EHR failed to apply it; the integration engine retries it"]
    assert retrying["answered_at"] is not None
    row = _listed(clinic, reading["message_id"])
    assert row["status"] == "retrying" and row["record_id"] == session_id and row["link"] == f"/ui{path}"
    assert row["reasons"] == retrying["reasons"]
    assert _listed(clinic, started["message_id"])["status"] == "refused"


# --- helpers ----------------------------------------------------------------------------------------------------
def _order_for_new_patient(clinic: Clinic) -> PublishedOrder:
    _patient_id, mrn = new_patient(clinic.ehr.client)
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    return order


def _close_chart(clinic: Clinic, patient_id: str, active: bool = False) -> None:
    close_chart(clinic.ehr.client, patient_id, active)


def _status_becomes(clinic: Clinic, path: str, status: str) -> dict[str, Any]:
    """The record's ``ehr_status`` once it is ``status`` (the EHR answers within seconds)."""
    return wait_for(lambda: (found := clinic.get(path)["ehr_status"])["status"] == status and found,
                    timeout_s=60, what=f"{path} {status} by the EHR")


def _message(status: dict[str, Any], message_id: str, wanted: str) -> dict[str, Any] | None:
    found = next((m for m in status["messages"] if m["message_id"] == message_id), None)
    return found if found is not None and found["status"] == wanted else None


def _listed(clinic: Clinic, message_id: str, present: bool = True) -> dict[str, Any] | None:
    """The message's row in the service's "not in the EHR" list (SMART is off here: every row in full)."""
    listed = clinic.get("/ehr-status/not-in-ehr")
    assert listed["count"] == len(listed["records"]) and listed["answer_wait_s"] == 300
    row = next((r for r in listed["records"] if r["message_id"] == message_id), None)
    assert (row is not None) is present, listed
    return row
