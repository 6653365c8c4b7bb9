"""The intake service as a process, driven like a clinic (HTTP) and the EHR (Kafka): a referral starts one intake,
the parts are recorded, the decision reaches the EHR (resources by Ketalink identifier) and the intake topic."""
from __future__ import annotations

import pytest

from deploy.ehr_sandbox.ehr_events import record_and_announce
from shared.events.topics import EHR_EVENTS
from tests.support.kafka_tools import publish, wait_for

from .steps import (
    CLINICIAN,
    ELIGIBLE_PARTS,
    announce_referral,
    decide,
    decision_message,
    get,
    copies_in_ehr,
    in_ehr,
    intakes_for_referral,
    outcome_code,
    patient_id,
    record,
    record_all,
    record_ok,
    screen,
    start,
    wait_until_applied,
)

pytestmark = pytest.mark.integration


def test_referral_starts_an_intake_that_ends_eligible_in_the_ehr_and_on_the_topic(broker, ehr, intake_url):
    patient = patient_id(ehr, "KL-1001")
    service_request, _ = announce_referral(broker, ehr, patient)

    intake_id = wait_for(lambda: intakes_for_referral(intake_url, patient, service_request["id"]),
                         what="the intake the referral starts")[0]["intake_id"]
    intake = get(intake_url, intake_id)
    assert intake["referral"]["source"] == "ehr" and intake["patient"]["ehr_patient_id"] == patient
    assert intake["vitals"]["weight_kg"]["value"] == 68.4 and intake["vitals"]["weight_kg"]["ehr_observation_id"]
    assert intake["vitals"]["height_cm"]["value"] == 165.0
    assert {c["drug_name"] for c in intake["trial_candidates"]} == {"sertraline", "venlafaxine"}
    assert {m["part"] for m in intake["missing"]} >= {"trials", "contraindications", "phq9", "consent"}

    record_all(intake_url, intake_id, screen())
    assert get(intake_url, intake_id)["missing"] == []
    decided = decide(intake_url, intake_id)
    assert decided["decision"]["outcome"] == "eligible"
    assert decided["decision"]["decided_by"] == {"reference": None, "display": CLINICIAN}  # SMART off: the name

    message = wait_for(lambda: decision_message(broker.bootstrap, intake_id), what="the decision message")
    assert message.event_code == "intake-eligibility-decided"
    assert [r["resourceType"] for r in message.resources[:2]] == ["RiskAssessment", "Consent"]
    assert outcome_code(message.first("RiskAssessment")) == "eligible"
    assert message.first("RiskAssessment")["subject"] == {"reference": f"Patient/{patient}"}

    wait_until_applied(intake_url, intake_id)
    assessment = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)
    assert outcome_code(assessment) == "eligible" and assessment["subject"]["reference"] == f"Patient/{patient}"
    assert "Treatment-resistant depression" in assessment["prediction"][0]["rationale"]
    consent = in_ehr(ehr, "Consent", "consent", intake_id)
    assert consent["status"] == "active"
    assert consent["policy"][0]["uri"].endswith("/iv-ketamine-v3")
    blood_pressure = in_ehr(ehr, "Observation", "intake-observation", f"{intake_id}-blood-pressure")
    assert [c["valueQuantity"]["value"] for c in blood_pressure["component"]] == [128, 82]
    phq9_total = in_ehr(ehr, "Observation", "intake-observation", f"{intake_id}-phq9-total")
    assert phq9_total["valueQuantity"]["value"] == 15
    for scale in ("phq-9", "madrs", "cssrs", "screening"):
        response = in_ehr(ehr, "QuestionnaireResponse", "intake-questionnaire-response", f"{intake_id}-{scale}")
        assert response["subject"] == {"reference": f"Patient/{patient}"}
    assert phq9_total["derivedFrom"][0]["reference"].startswith("QuestionnaireResponse/")
    trd = in_ehr(ehr, "Condition", "intake-condition", f"{intake_id}-trd")
    assert trd["subject"]["reference"] == f"Patient/{patient}"
    # The basis cites resources of the same message and the EHR's own weight: all resolved to literal references.
    basis = [b.get("reference") for b in assessment["basis"]]
    assert f"Consent/{consent['id']}" in basis
    assert f"Observation/{intake['vitals']['weight_kg']['ehr_observation_id']}" in basis


def test_a_redelivered_or_reannounced_referral_starts_one_intake(broker, ehr, intake_url):
    patient = patient_id(ehr, "KL-1004")
    service_request, message = announce_referral(broker, ehr, patient)
    publish(broker.bootstrap, EHR_EVENTS, message, key=patient)  # redelivered: the same message id
    stored_again = {k: v for k, v in service_request.items() if k not in ("id", "meta")}
    _, resent = record_and_announce(ehr.client, stored_again, "referral-requested")  # the same referral, new message
    publish(broker.bootstrap, EHR_EVENTS, resent, key=patient)
    sentinel, _ = announce_referral(broker, ehr, patient)  # same key, same partition: handled after the others

    wait_for(lambda: intakes_for_referral(intake_url, patient, sentinel["id"]), what="the sentinel referral's intake")
    [intake] = intakes_for_referral(intake_url, patient, service_request["id"])
    # Naming the referral over HTTP returns that intake instead of starting another.
    response = start(intake_url, patient, referral_id=service_request["id"])
    assert response.status_code == 200 and response.json()["intake_id"] == intake["intake_id"]
    assert len(intakes_for_referral(intake_url, patient, service_request["id"])) == 1


def test_absolute_contraindication_is_not_eligible_and_cannot_be_overridden(broker, ehr, intake_url):
    patient = patient_id(ehr, "KL-1003")
    response = start(intake_url, patient)
    assert response.status_code == 201, response.text
    intake = response.json()
    # The EHR history (a resolved cerebral haemorrhage) is shown to the screener.
    assert any(c["codings"][0]["code"] == "274100004" for c in intake["conditions"])
    intake_id = intake["intake_id"]
    record_all(intake_url, intake_id, screen(intracerebral_haemorrhage_history="present"))

    refused = record(intake_url, intake_id, "overrides", {"target": "contraindication",
                     "key": "intracerebral-haemorrhage-history", "overridden_by": CLINICIAN, "reason": "old"}, "POST")
    assert refused.status_code == 400
    assert refused.json()["issue"][0]["expression"] == ["key"]
    assert "absolute" in refused.json()["issue"][0]["diagnostics"]

    decided = decide(intake_url, intake_id)
    assert decided["decision"]["outcome"] == "not-eligible"
    assert "Absolute contraindication: History of intracerebral haemorrhage" in [
        r["text"] for r in decided["decision"]["reasons"]]
    message = wait_for(lambda: decision_message(broker.bootstrap, intake_id), what="the decision message")
    assert outcome_code(message.first("RiskAssessment")) == "not-eligible"
    wait_until_applied(intake_url, intake_id)
    assessment = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)
    assert outcome_code(assessment) == "not-eligible"
    flag = in_ehr(ehr, "Flag", "intake-flag", f"{intake_id}-intracerebral-haemorrhage-history")
    assert flag["status"] == "active" and flag["subject"] == {"reference": f"Patient/{patient}"}


def test_relative_contraindication_with_an_override_is_eligible_with_the_override_recorded(broker, ehr, intake_url):
    patient = patient_id(ehr, "KL-1002")
    intake_id = start(intake_url, patient).json()["intake_id"]
    record_all(intake_url, intake_id, screen(uncontrolled_hypertension="present"))
    before = get(intake_url, intake_id)
    assert before["missing"] == []

    overridden = record_ok(intake_url, intake_id, "overrides", {
        "target": "contraindication", "key": "uncontrolled-hypertension", "overridden_by": CLINICIAN,
        "reason": "BP controlled on review; cardiology agrees"}, "POST")
    assert overridden["overrides"][0]["key"] == "uncontrolled-hypertension"
    decided = decide(intake_url, intake_id)
    assert decided["decision"]["outcome"] == "eligible"
    [reason] = [r for r in decided["decision"]["reasons"] if r["code"] == "relative-contraindication-overridden"]
    assert f"overridden by {CLINICIAN}" in reason["text"] and reason["effect"] == "info"

    wait_until_applied(intake_url, intake_id)
    assessment = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)
    assert outcome_code(assessment) == "eligible"
    assert "cardiology agrees" in assessment["prediction"][0]["rationale"]


def test_reopen_sets_the_decision_aside_and_a_new_decision_replaces_it_in_the_ehr(broker, ehr, intake_url):
    patient = patient_id(ehr, "KL-1002")
    intake_id = start(intake_url, patient).json()["intake_id"]
    record_all(intake_url, intake_id, screen())
    record_ok(intake_url, intake_id, "consent", {"decision": "refused", "signed_by": "patient",
                                                 "consent_text_version": "iv-ketamine-v3", "ride_home_agreed": True})
    assert decide(intake_url, intake_id)["decision"]["outcome"] == "not-eligible"
    assert record(intake_url, intake_id, "phq9", {"items": [1] * 9}).status_code == 409

    reopened = record_ok(intake_url, intake_id, "reopen", {"reopened_by": CLINICIAN, "reason": "consent given"},
                         "POST")
    assert reopened["status"] == "in-progress" and reopened["reopenings"][0]["previous_decision"]["outcome"] == \
        "not-eligible"
    record_ok(intake_url, intake_id, "consent", ELIGIBLE_PARTS["consent"])
    assert decide(intake_url, intake_id)["decision"]["outcome"] == "eligible"

    def both_applied():
        messages = [m for m in get(intake_url, intake_id)["ehr_messages"]  # not the intake-reopened message
                    if m["event_code"] == "intake-eligibility-decided"]
        return messages if len(messages) == 2 and all(m["ehr_response"] == "ok" for m in messages) else None

    wait_for(both_applied, what="the EHR's answers to both decisions")
    assessment = in_ehr(ehr, "RiskAssessment", "eligibility", intake_id)
    assert outcome_code(assessment) == "eligible"
    assert in_ehr(ehr, "Consent", "consent", intake_id)["status"] == "active"
    # The second decision updated the first one's resources: no second copy.
    assert copies_in_ehr(ehr, "Consent", "consent", intake_id) == 1
    assert copies_in_ehr(ehr, "Observation", "intake-observation", f"{intake_id}-phq9-total") == 1
