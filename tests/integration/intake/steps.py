"""What the intake tests do over HTTP and Kafka, as a clinic and the EHR would, and how they look into the EHR."""
from __future__ import annotations

from typing import Any

import requests

from deploy.ehr_sandbox.ehr_events import record_and_announce, referral
from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS
from services.intake.domain.contraindications import DEFAULT_ABSOLUTE_CONTRAINDICATIONS, \
    DEFAULT_RELATIVE_CONTRAINDICATIONS
from shared.events.topics import EHR_EVENTS, INTAKE_EVENTS
from shared.fhir.datatypes import identifier
from shared.fhir.messaging import Message
from tests.support.kafka_tools import publish, read_messages, wait_for

CLINICIAN = "Dr Ada Lovelace"
ELIGIBLE_PARTS: dict[str, dict[str, Any]] = {
    "trials": {"trials": [
        {"drug_name": "sertraline", "dose_text": "150 mg daily", "duration_weeks": 10, "adequate_dose": True,
         "improvement_pct": 20, "current_episode": True},
        {"drug_name": "venlafaxine", "dose_text": "225 mg daily", "duration_weeks": 12, "adequate_dose": True,
         "improvement_pct": 15, "current_episode": True}]},
    "vitals": {"blood_pressure": {"systolic_mmhg": 128, "diastolic_mmhg": 82}, "heart_rate_per_min": {"value": 72},
               "spo2_pct": {"value": 98}, "respiratory_rate_per_min": {"value": 14}},
    "phq9": {"items": [2, 3, 2, 2, 1, 2, 2, 1, 0], "answered_at": "2026-11-27T09:30:00+00:00"},
    "madrs": {"items": [4, 4, 3, 3, 2, 3, 3, 4, 3, 1], "rated_by": CLINICIAN},
    "cssrs": {"answers": {"wish-to-be-dead": True, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}},
    "consent": {"decision": "given", "signed_by": "patient", "consent_text_version": "iv-ketamine-v3",
                "ride_home_agreed": True, "elements_acknowledged": list(DEFAULT_CONSENT_ELEMENTS)},
}


def patient_id(ehr, mrn: str) -> str:
    return ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]


def screen(**present: str) -> dict[str, Any]:
    """Every default item answered absent, except the keys given (``uncontrolled_hypertension="present"``)."""
    given = {key.replace("_", "-"): presence for key, presence in present.items()}
    keys = DEFAULT_ABSOLUTE_CONTRAINDICATIONS + DEFAULT_RELATIVE_CONTRAINDICATIONS
    return {"answers": [{"key": k, "presence": given.get(k, "absent")} for k in keys], "screened_by": CLINICIAN}


def announce_referral(broker, ehr, patient: str) -> tuple[dict, dict]:
    """The EHR's side: store a ketamine-evaluation ServiceRequest, publish ``referral-requested`` on ehr.events."""
    service_request, message = record_and_announce(ehr.client, referral(patient), "referral-requested")
    publish(broker.bootstrap, EHR_EVENTS, message, key=patient)
    return service_request, message


def intakes_of(base_url: str, patient: str) -> list[dict]:
    response = requests.get(f"{base_url}/patients/{patient}/intakes", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["intakes"]


def intakes_for_referral(base_url: str, patient: str, service_request_id: str) -> list[dict]:
    return [i for i in intakes_of(base_url, patient) if i["referral_id"] == service_request_id]


def start(base_url: str, patient: str, **extra: Any) -> requests.Response:
    return requests.post(f"{base_url}/intakes", json={"patient_id": patient, "started_by": CLINICIAN, **extra},
                         timeout=15)


def get(base_url: str, intake_id: str) -> dict:
    response = requests.get(f"{base_url}/intakes/{intake_id}", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def record(base_url: str, intake_id: str, part: str, body: dict, method: str = "PUT") -> requests.Response:
    return requests.request(method, f"{base_url}/intakes/{intake_id}/{part}", json=body, timeout=5)


def record_ok(base_url: str, intake_id: str, part: str, body: dict, method: str = "PUT") -> dict:
    response = record(base_url, intake_id, part, body, method)
    assert response.status_code == 200, response.text
    return response.json()


def record_all(base_url: str, intake_id: str, contraindications: dict) -> None:
    record_ok(base_url, intake_id, "contraindications", contraindications)
    for part, body in ELIGIBLE_PARTS.items():
        record_ok(base_url, intake_id, part, body)


def decide(base_url: str, intake_id: str) -> dict:
    return record_ok(base_url, intake_id, "decision", {"decided_by": CLINICIAN, "attested": True}, "POST")


def decision_message(bootstrap: str, intake_id: str) -> Message | None:
    """The ``intake-eligibility-decided`` message for ``intake_id`` on ketalink.intake.events, if there yet
    (other tests put records that are not messages on the topic on purpose: skipped)."""
    for message in read_messages(bootstrap, INTAKE_EVENTS):
        assessment = message.first("RiskAssessment")
        if assessment and assessment["identifier"][0]["value"] == intake_id:
            return message
    return None


def applied_by_ehr(base_url: str, intake_id: str) -> dict | None:
    """The intake once the EHR has answered its decision message (None while pending)."""
    intake = get(base_url, intake_id)
    answered = [m for m in intake["ehr_messages"] if m["ehr_response"] != "pending"]
    return intake if answered else None


def wait_until_applied(base_url: str, intake_id: str) -> dict:
    intake = wait_for(lambda: applied_by_ehr(base_url, intake_id), timeout_s=30,
                      what="the EHR's answer to the decision message")
    assert [m["ehr_response"] for m in intake["ehr_messages"]] == ["ok"], intake["ehr_messages"]
    return intake


def in_ehr(ehr, resource_type: str, kind: str, value: str) -> dict:
    """The resource the EHR holds under this Ketalink identifier. The sandbox's engine stores it under an id derived
    from the identifier (SEKMET has no ``identifier`` search on RiskAssessment or QuestionnaireResponse)."""
    ident = identifier(kind, value)
    resource = ehr.client.read(resource_type, ehr_resource_id(ident["system"], value))
    carried = resource["identifier"]
    assert ident in (carried if isinstance(carried, list) else [carried]), carried
    return resource


def copies_in_ehr(ehr, resource_type: str, kind: str, value: str) -> int:
    """How many resources carry this identifier (for types the server can search by identifier)."""
    ident = identifier(kind, value)
    return len(ehr.client.search(resource_type, {"identifier": f"{ident['system']}|{value}"}))


def outcome_code(resource: dict) -> str:
    return resource["prediction"][0]["outcome"]["coding"][0]["code"]
