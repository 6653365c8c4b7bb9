"""Issue 13 at the intake, against the real broker and EHR sandbox: impossible times and values refused with a 4xx
naming the field and nothing written (defect 24), also on the Kafka inbound path (dead-lettered with the reason);
the C-SSRS behavioural-health review (defect 4), consent elements (defect 15), pregnancy "not applicable" from the
record (defect 18) and the urgent-use pathway carried to the EHR's RiskAssessment."""
from __future__ import annotations

import pytest
import requests

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT, referral
from shared.events.topics import EHR_EVENTS, dead_letter_topic
from shared.fhir.messaging import build_message
from tests.support.kafka_tools import publish, read_all, wait_for

from .steps import (
    CLINICIAN, ELIGIBLE_PARTS, decide, get, in_ehr, patient_id, record, record_all, record_ok, screen, start,
    wait_until_applied,
)

pytestmark = pytest.mark.integration

YEAR_9999 = "9999-01-01T00:00:00+00:00"
MODERATE = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
            "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
            "suicidal-behaviour-lifetime": True, "suicidal-behaviour-past-3-months": False}


def issue(response: requests.Response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]


def trial(**change) -> dict:
    return {"trials": [ELIGIBLE_PARTS["trials"]["trials"][0] | change]}


@pytest.mark.parametrize("part, body, field, words", [
    ("consent", ELIGIBLE_PARTS["consent"] | {"signed_at": YEAR_9999}, "signed_at", "in the future"),
    ("phq9", ELIGIBLE_PARTS["phq9"] | {"answered_at": YEAR_9999}, "answered_at", "in the future"),
    ("phq9", ELIGIBLE_PARTS["phq9"] | {"answered_at": "0001-01-01T00:00:00+00:00"}, "answered_at",
     "before the intake"),
    ("cssrs", ELIGIBLE_PARTS["cssrs"] | {"answered_at": YEAR_9999}, "answered_at", "in the future"),
    ("vitals", {"heart_rate_per_min": {"value": 72, "measured_at": "1970-01-01T00:00:00+00:00"}},
     "heart_rate_per_min.measured_at", "before the intake"),
    ("trials", trial(duration_weeks=1e308), "trials[0].duration_weeks", "plausible range"),
    ("trials", trial(improvement_pct=-1e308), "trials[0].improvement_pct", "plausible range"),
    ("consent", ELIGIBLE_PARTS["consent"] | {"elements_acknowledged": ["nausea", "free-lunch"]},
     "elements_acknowledged[1]", "not one of the clinic's consent elements"),
    ("contraindications", screen(pregnancy_or_breastfeeding="not-applicable"), "answers[8].presence",
     "applies to this patient"),
    ("cssrs-review", {"outcome": "proceed", "note": "fine", "reviewed_by": CLINICIAN}, "cssrs_review",
     "only a moderate or high risk is reviewed"),
])
def test_impossible_or_unsupported_input_is_refused_naming_the_field(ehr, intake_url, part, body, field, words):
    intake = start(intake_url, patient_id(ehr, "KL-1001")).json()  # female, 48: pregnancy applies
    if part == "cssrs-review":
        record_ok(intake_url, intake["intake_id"], "cssrs", ELIGIBLE_PARTS["cssrs"])
        intake = get(intake_url, intake["intake_id"])
    response = record(intake_url, intake["intake_id"], part, body)
    assert response.status_code == 400, response.text
    assert issue(response)["expression"] == [field]
    assert words in issue(response)["diagnostics"]
    assert get(intake_url, intake["intake_id"])["version"] == intake["version"]  # nothing written


def test_year_9999_consent_and_phq9_never_reach_an_eligible_decision(ehr, intake_url):
    intake_id = start(intake_url, patient_id(ehr, "KL-1002")).json()["intake_id"]
    record_all(intake_url, intake_id, screen())
    for part in ("consent", "phq9"):
        bad = ELIGIBLE_PARTS[part] | {"signed_at" if part == "consent" else "answered_at": YEAR_9999}
        assert record(intake_url, intake_id, part, bad).status_code == 400
    assert decide(intake_url, intake_id)["decision"]["outcome"] == "eligible"  # on the plausible parts only
    stored = get(intake_url, intake_id)
    assert stored["consent"]["signed_at"] < "9999" and stored["phq9"]["answered_at"] < "9999"


def test_a_referral_dated_in_year_9999_is_dead_lettered_with_the_reason(broker, ehr, intake_url):
    service_request = referral(patient_id(ehr, "KL-1003")) | {"id": "sr-year-9999", "authoredOn": YEAR_9999}
    message = build_message("referral-requested", EHR_ENDPOINT, [service_request], with_provenance=False)
    message_id = message["entry"][0]["resource"]["id"]
    publish(broker.bootstrap, EHR_EVENTS, message, key="KL-1003")

    def dead_lettered():
        return [r for r in read_all(broker.bootstrap, dead_letter_topic(EHR_EVENTS))
                if dict(r.headers).get("message-id") == message_id.encode() or message_id.encode() in r.value]

    [record_] = wait_for(dead_lettered, what="the dead-lettered referral")
    assert "referral.requested_at" in dict(record_.headers)["dlq-reason"].decode()


def test_moderate_cssrs_needs_the_review_which_reaches_the_ehr(ehr, intake_url):
    intake_id = start(intake_url, patient_id(ehr, "KL-1002")).json()["intake_id"]
    record_all(intake_url, intake_id, screen())
    record_ok(intake_url, intake_id, "cssrs", {"answers": MODERATE})
    assert [m["part"] for m in get(intake_url, intake_id)["missing"]] == ["cssrs_review"]
    reviewed = record_ok(intake_url, intake_id, "cssrs-review", {
        "outcome": "proceed", "note": "Psychiatry review: passive ideation, no plan; safety plan given",
        "reviewed_by": CLINICIAN})
    assert reviewed["cssrs_review"]["reviewed_by"]["display"] == CLINICIAN and reviewed["cssrs_review"]["risk_reviewed"] == \
        "moderate"
    decided = decide(intake_url, intake_id)
    assert decided["decision"]["outcome"] == "eligible"
    wait_until_applied(intake_url, intake_id)
    rationale = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)["prediction"][0]["rationale"]
    assert f"reviewed by {CLINICIAN}" in rationale and "safety plan given" in rationale


def test_urgent_use_sets_the_trd_rule_aside_visibly_in_the_ehr(ehr, intake_url):
    intake_id = start(intake_url, patient_id(ehr, "KL-1002")).json()["intake_id"]
    record_all(intake_url, intake_id, screen())
    record_ok(intake_url, intake_id, "trials", trial())  # one failed trial: not TRD
    record_ok(intake_url, intake_id, "urgent-use", {"reason": "Acute suicidal ideation; inpatient team request",
                                                    "overridden_by": CLINICIAN})
    decided = decide(intake_url, intake_id)
    assert decided["decision"]["outcome"] == "eligible"
    wait_until_applied(intake_url, intake_id)
    assessment = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)
    assert "Urgent use: the TRD rule was set aside by" in assessment["prediction"][0]["rationale"]
    consent = in_ehr(ehr, "Consent", "consent", intake_id)
    codes = [p["code"][0]["coding"][0]["code"] for p in consent["provision"]["provision"]]
    assert "consent-element-escort-and-no-driving-until-next-day" in codes
