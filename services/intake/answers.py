"""The JSON Schemas of the intake API's answers (what ``presenters.py`` returns), by view, for the OpenAPI document:
derived from the records the presenters spread (``shared/record_schema.py``) plus their own keys."""
from __future__ import annotations

from services.intake.domain.model import Intake
from shared.ehr_delivery.views import EHR_STATUS_SCHEMA
from shared.openapi import NOT_IN_EHR
from shared.record_schema import (
    DATE_TIME, OBJECT, STRING, Answer, answer, array, nullable, obj,
)

INTAKE = Answer("Intake", answer(
    Intake, version={"type": "integer"}, missing=array({}), trial_candidates=array({}),
    consent_elements=array(obj({"key": STRING, "label": STRING})), ehr_messages=array(OBJECT),
    ehr_status=EHR_STATUS_SCHEMA))
INTAKE_SUMMARY = obj({"intake_id": STRING, "patient_id": STRING, "status": STRING, "started_at": DATE_TIME,
                      "referral_id": nullable(STRING), "outcome": nullable(STRING), "decided_at": nullable(DATE_TIME)})
PATIENT_INTAKES = Answer("PatientIntakes", obj({"patient_id": STRING, "intakes": array(INTAKE_SUMMARY)}))

#: Every view's answer; ``tests/unit/test_openapi_documents.py`` checks that none is left out.
ANSWERS = {
    "patient_intakes": PATIENT_INTAKES, "not_in_ehr": NOT_IN_EHR,
    **{view: INTAKE for view in (
        "create_intake", "get_intake", "put_trials", "put_contraindications", "put_vitals", "put_phq9", "put_madrs",
        "put_cssrs", "put_consent", "post_override", "put_cssrs_review", "put_urgent_use", "post_decision",
        "post_reopen")},
}
