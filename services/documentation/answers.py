"""The JSON Schemas of the documentation API's answers (what ``presenters.py`` returns), by view, for the OpenAPI
document: derived from the records the presenters spread (``shared/record_schema.py``) plus their own keys."""
from __future__ import annotations

from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.session.model import Session
from shared.ehr_delivery.views import EHR_STATUS_SCHEMA
from shared.openapi import NOT_IN_EHR
from shared.record_schema import (
    BOOLEAN, DATE, DATE_TIME, INTEGER, OBJECT, STRING, Answer, answer, array, nullable, obj,
)

SESSION_SUMMARY = obj({
    "session_id": STRING, "patient_id": STRING, "order_id": STRING, "series_id": STRING,
    "occurrence_number": INTEGER, "status": STRING, "scheduled_start": DATE_TIME, "scheduled_end": DATE_TIME,
    "infusion_started_at": nullable(DATE_TIME), "ended_at": nullable(DATE_TIME)})
SESSION_KEYS = {
    "summary": SESSION_SUMMARY, "order": OBJECT, "as_of": DATE_TIME, "due_readings": array(OBJECT),
    "next_reading_due": nullable(DATE_TIME),
    "due_cadss": array(OBJECT), "cadss_due_at_discharge": array(OBJECT), "open_alert_ids": array(STRING),
    "given": nullable(OBJECT), "discharge_instructions": OBJECT, "charted_pump": nullable(OBJECT),
    "pre_check": nullable(OBJECT), "suicide_risk": OBJECT, "site_readiness_items": array({})}
SESSION = Answer("Session", answer(Session, **SESSION_KEYS))
SESSION.schema["properties"]["ehr_status"] = EHR_STATUS_SCHEMA  # GET /sessions/{id} only: not required
RECORDED = Answer("SessionWithRecorded", answer(Session, **SESSION_KEYS, recorded=OBJECT))
NOTE_SCHEMA = answer(ProcedureNote, doc_status=STRING, superseded_by=nullable(STRING))
NOTE_SCHEMA["properties"]["ehr_status"] = EHR_STATUS_SCHEMA  # read and listed notes only: not required
NOTE = Answer("Note", NOTE_SCHEMA)
NOTES = Answer("SessionNotes", obj({"session_id": STRING, "notes": array(NOTE_SCHEMA)}))
NOTE_PREVIEW = Answer("NotePreview", obj({"session_id": STRING, "status": STRING, "text": STRING}))
SESSIONS = Answer("PatientSessions", obj({"patient_id": STRING, "sessions": array(SESSION_SUMMARY)}))
RECONCILIATION = Answer("DayReconciliation", obj({
    "day": DATE, "time_zone": STRING, "infusions": INTEGER, "lots": array(OBJECT),
    "discrepancies": array(obj({"session_id": STRING, "patient_id": STRING, "problem": STRING})),
    "reconciled": BOOLEAN}))

#: Every view's answer; ``tests/unit/test_openapi_documents.py`` checks that none is left out.
ANSWERS = {
    "list_sessions": SESSIONS, "not_in_ehr": NOT_IN_EHR, "reconciliation": RECONCILIATION,
    "preview_note": NOTE_PREVIEW, "list_notes": NOTES,
    **{view: NOTE for view in ("draft_note", "read_note", "edit_note", "sign_note", "amend_note")},
    **{view: RECORDED for view in ("record_vitals", "record_event", "record_cadss", "record_adverse_event",
                                   "record_pump_change")},
    **{view: SESSION for view in (
        "read_session", "check_in", "pre_check", "override_hold", "review_suicide_risk", "start_infusion",
        "end_infusion", "discharge", "defer", "abort", "record_alert_action", "record_administration",
        "record_cadss_not_rated", "review_administration", "record_controlled_substance",
        "complete_follow_up_call")},
}
