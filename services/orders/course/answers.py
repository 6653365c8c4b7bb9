"""The JSON Schemas of the course API's answers (what ``presenters.py`` returns), by view, for the OpenAPI document:
derived from the records the presenters write (``shared/record_schema.py``) plus their own keys."""
from __future__ import annotations

from services.orders.course.domain.model import ClinicalEvent, CourseTask
from services.orders.course.domain.summary import CourseSummary
from services.orders.course.domain.suicidality import SuicidalityAlert
from services.orders.course.domain.therapy import TherapyReferral
from shared.record_schema import BOOLEAN, STRING, Answer, answer, array, obj, record_schema

EVENT = obj({"event_code": STRING, "message_id": STRING, "about": {"anyOf": [STRING, {"type": "null"}]},
             "sent_to_broker": BOOLEAN}, required=("event_code", "message_id", "about"))
COURSE_PROPERTIES = {
    "course_id": STRING, "patient_id": STRING, "status": STRING, "outcome_text": STRING,
    "summary": record_schema(CourseSummary), "tasks": array(record_schema(CourseTask)),
    "alerts": array(record_schema(SuicidalityAlert)), "referrals": array(record_schema(TherapyReferral)),
    "clinical_events": array(record_schema(ClinicalEvent)), "series_ids": array(STRING), "events": array(EVENT)}
COURSE = Answer("Course", obj(COURSE_PROPERTIES))
COURSE_CHANGE = Answer("CourseChange", answer(None, **COURSE_PROPERTIES, alerts_raised=array(EVENT)))
OUTCOMES_BUNDLE = Answer("OutcomesBundle", obj({"resourceType": {"enum": ["Bundle"]}, "type": STRING,
                                                "entry": array({"type": "object"})}, required=("resourceType", "type")))
NULLABLE_STRING = {"anyOf": [STRING, {"type": "null"}]}
PATIENT_LINK_PROPERTIES = {"link_id": STRING, "scale": STRING, "state": {"enum": ["open", "used", "expired"]},
                           "created_at": STRING, "expires_at": STRING, "created_by": STRING,
                           "used_at": NULLABLE_STRING, "measurement_id": STRING}
PATIENT_LINK = Answer("PatientLink", obj({**PATIENT_LINK_PROPERTIES, "url": STRING}))
DUE_PROPERTIES = {"scale": STRING, "state": {"enum": ["not-due", "due", "overdue"]}, "due_at": STRING,
                  "overdue_at": STRING, "last_measured_at": NULLABLE_STRING}
QUESTIONNAIRES = Answer("CourseQuestionnaires", obj({
    "course_id": STRING, "patient_id": STRING,
    "due": array(obj(DUE_PROPERTIES)),
    "links": array(obj(PATIENT_LINK_PROPERTIES))}))
CLINIC_DUE = Answer("ClinicQuestionnairesDue", obj({"due": array(obj({
    "course_id": STRING, "patient_id": STRING, **DUE_PROPERTIES, "open_link_expires_at": NULLABLE_STRING}))}))
OUTCOMES_CSV = Answer("OutcomesCsv", {"type": "string", "description": "text/csv, a header row then one row a "
                                                                      "course (no names, ids or exact dates)"})

#: Every view's answer; ``tests/unit/test_openapi_documents.py`` checks that none is left out.
ANSWERS = {
    "patient_course": COURSE, "get_course": COURSE, "export_csv": OUTCOMES_CSV, "export_bundle": OUTCOMES_BUNDLE,
    "create_patient_link": PATIENT_LINK, "course_questionnaires": QUESTIONNAIRES,
    "clinic_questionnaires_due": CLINIC_DUE,
    **{view: COURSE_CHANGE for view in (
        "record_score", "record_cssrs", "decide", "record_clinical_event", "acknowledge_alert", "refer",
        "close_referral", "book_therapy_session", "record_attendance")},
}
