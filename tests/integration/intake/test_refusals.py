"""What the intake refuses, and how: a 4xx OperationOutcome naming the field and nothing written; a referral it
can never process on the dead-letter topic with the reason; an EHR that does not answer → 503 ``transient``."""
from __future__ import annotations

import uuid

import pytest
import requests

from deploy.ehr_sandbox.ehr_events import EHR_ENDPOINT, record_and_announce, referral
from deploy.ehr_sandbox.ehr_events import weight as ehr_weight
from shared.events.topics import EHR_EVENTS, dead_letter_topic
from shared.fhir.codes import UCUM
from shared.fhir.messaging import build_message
from tests.support.kafka_tools import publish, read_all, wait_for

from .steps import CLINICIAN, get, patient_id, record, start

pytestmark = pytest.mark.integration


def issue(response: requests.Response) -> dict:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]


@pytest.mark.parametrize("part, body, field, words", [
    ("phq9", {"items": [1, 1, 1, 1, 1, 1, 1, 1, 4]}, "items[8]", "outside 0-3"),
    ("phq9", {"items": [1, 1, 1, 1, 1, 1, 1, 1]}, "items[8]", "required"),
    ("phq9", {"items": [1, 1, 1, 1, "1", 1, 1, 1, 1]}, "items[4]", "integer"),
    ("madrs", {"items": [0] * 9 + [7]}, "items[9]", "outside 0-6"),
    ("vitals", {"blood_pressure": {"systolic_mmhg": 120, "diastolic_mmhg": 130}}, "blood_pressure.diastolic_mmhg",
     "below systolic"),
    ("vitals", {"heart_rate_per_min": {"value": 72, "measured_at": "2026-11-27T09:00:00"}},
     "heart_rate_per_min.measured_at", "timezone"),
    ("cssrs", {"answers": {"wish-to-be-dead": False, "suicidal-thoughts": True,
                           "suicidal-behaviour-lifetime": False}}, "answers.ideation-with-method", "required"),
    ("contraindications", {"answers": [{"key": "broken-leg", "presence": "present"}], "screened_by": CLINICIAN},
     "answers[0].key", "unknown contraindication"),
    ("consent", {"decision": "given", "signed_by": "patient", "consent_text_version": "v3"}, "ride_home_agreed",
     "required"),
    ("trials", {"trials": [{"drug_name": "sertraline", "duration_weeks": 8, "adequate_dose": True,
                            "improvement_pct": 20, "current_episode": True, "dose": "x"}]}, "trials[0].dose",
     "not permitted"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(ehr, intake_url, part, body, field, words):
    intake = start(intake_url, patient_id(ehr, "KL-1001")).json()
    response = record(intake_url, intake["intake_id"], part, body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert issue(response)["expression"] == [field]
    assert words in issue(response)["diagnostics"]
    assert get(intake_url, intake["intake_id"])["version"] == intake["version"]  # nothing half-written


def test_unknown_patient_or_record_is_refused(intake_url):
    response = start(intake_url, "no-such-patient")
    assert response.status_code == 422
    assert issue(response)["expression"] == ["patient_id"] and "not in the EHR" in issue(response)["diagnostics"]
    assert start(intake_url, "../Patient").status_code == 400
    missing = requests.get(f"{intake_url}/intakes/{uuid.uuid4()}", timeout=5)
    assert missing.status_code == 404 and issue(missing)["code"] == "not-found"
    assert requests.post(f"{intake_url}/intakes", data="{", headers={"Content-Type": "application/json"},
                         timeout=5).status_code == 400


@pytest.mark.parametrize("weight, field, words", [
    ({"value": 68000, "unit": "g", "system": UCUM, "code": "g"}, "Observation.valueQuantity.code", "not supported"),
    ({"value": 900, "unit": "kg", "system": UCUM, "code": "kg"}, "Observation.valueQuantity.value",
     "plausible range"),
])
def test_ehr_data_the_intake_cannot_read_is_refused_naming_the_resource_and_field(ehr, intake_url, weight, field,
                                                                                   words):
    mrn = str(uuid.uuid4())  # a patient of its own, so the seeded patients' latest weights stay as they are
    patient, _ = ehr.client.create_if_none_exist(
        {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": mrn}], "gender": "female",
         "birthDate": "1980-02-29"}, f"identifier=urn:test:mrn|{mrn}")
    stored_weight, _ = record_and_announce(ehr.client, ehr_weight(patient["id"], 68) | {"valueQuantity": weight},
                                           "weight-recorded")
    response = start(intake_url, patient["id"])
    assert response.status_code == 422, response.text
    assert issue(response)["expression"] == [field]
    assert f"Observation/{stored_weight['id']}" in issue(response)["diagnostics"]
    assert words in issue(response)["diagnostics"]
    assert requests.get(f"{intake_url}/patients/{patient['id']}/intakes", timeout=5).json()["intakes"] == []


def test_referral_naming_another_patient_is_refused(ehr, intake_url):
    service_request, _ = record_and_announce(ehr.client, referral(patient_id(ehr, "KL-1002")), "referral-requested")
    response = start(intake_url, patient_id(ehr, "KL-1001"), referral_id=service_request["id"])
    assert response.status_code == 422
    assert issue(response)["expression"] == ["referral_id"] and "another patient" in issue(response)["diagnostics"]


@pytest.mark.parametrize("change, reason", [
    (lambda sr: sr.pop("identifier"), "ServiceRequest.identifier"),
    (lambda sr: sr.update(code={"text": "physiotherapy"}), "ServiceRequest.code"),
    (lambda sr: sr.update(subject={"reference": "Patient/no-such-patient"}), "Patient/no-such-patient"),
])
def test_a_referral_that_can_never_start_an_intake_is_dead_lettered_with_the_reason(broker, intake_url, change,
                                                                                    reason):
    service_request = referral("placeholder") | {"id": f"sr-{uuid.uuid4()}"}
    service_request["subject"] = {"reference": "Patient/placeholder"}
    change(service_request)
    message = build_message("referral-requested", EHR_ENDPOINT, [service_request], with_provenance=False)
    message_id = message["entry"][0]["resource"]["id"]
    publish(broker.bootstrap, EHR_EVENTS, message, key="placeholder")

    def dead_lettered():
        return [r for r in read_all(broker.bootstrap, dead_letter_topic(EHR_EVENTS))
                if dict(r.headers).get("message-id") == message_id.encode() or message_id.encode() in r.value]

    [record_] = wait_for(dead_lettered, what="the dead-lettered referral")
    assert reason in dict(record_.headers)["dlq-reason"].decode()


def test_an_ehr_that_does_not_answer_gives_503_transient_and_writes_nothing(intake_without_ehr_url):
    response = start(intake_without_ehr_url, "any-patient")
    assert response.status_code == 503
    assert issue(response)["code"] == "transient"
    listed = requests.get(f"{intake_without_ehr_url}/patients/any-patient/intakes", timeout=5).json()
    assert listed["intakes"] == []
