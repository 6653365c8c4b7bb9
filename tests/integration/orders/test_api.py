"""The orders service over HTTP against the real broker and EHR sandbox: dose preview, create, sign, hold,
resume and cancel, with the orders reaching the EHR as MedicationRequest + CarePlan; every refusal answered with
an OperationOutcome naming the field or the reason."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import requests

from shared.events.topics import EHR_RESPONSES, INTAKE_EVENTS, ORDERS_EVENTS, dead_letter_topic
from shared.fhir.codes import BODY_WEIGHT
from tests.integration.orders.support import (
    by_ketalink_identifier, eligibility_message, message_id, messages_about_order, responses_to,
)
from tests.support.kafka_tools import publish, read_all, wait_for

pytestmark = pytest.mark.integration


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _latest_weight_id(ehr, patient_id: str) -> str:
    found = ehr.client.search("Observation", {"subject": f"Patient/{patient_id}",
                                              "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}", "_sort": "-date"})
    return found[0]["id"]


def _post(url: str, body: dict, key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return requests.post(url, json=body, headers=headers, timeout=15)


def _expressions(outcome: dict) -> list[str]:
    assert outcome["resourceType"] == "OperationOutcome"
    return [where for issue in outcome["issue"] for where in issue.get("expression", [])]


def _ehr_order(ehr, order_id: str, status: str) -> dict | None:
    found = by_ketalink_identifier(ehr, "MedicationRequest", "order", order_id)
    return found[0] if len(found) == 1 and found[0]["status"] == status else None


def test_eligible_patient_preview_create_sign_and_the_order_reaches_the_ehr(orders_url, patients, decide, ehr,
                                                                            broker):
    patient_id = patients["KL-1001"]
    decide(patient_id)
    weight_id = _latest_weight_id(ehr, patient_id)

    preview = _post(f"{orders_url}/dose-preview", {"patient_id": patient_id})
    assert preview.status_code == 200, preview.text
    calculation = preview.json()["calculation"]
    assert calculation["weight"] == {**calculation["weight"], "value_kg": 68.4, "observation_id": weight_id}
    assert (calculation["mg_per_kg"], calculation["duration_min"], calculation["dose_mg"]) == (0.5, 40, 34.0)
    assert (calculation["drug_volume_ml"], calculation["bag_volume_ml"], calculation["rate_ml_per_h"]) == (
        3.4, 103.4, 155.1)
    assert preview.json()["text"].startswith("Ketamine 34 mg IV over 40 min: 0.5 mg/kg × 68.4 kg actual body weight")

    body = {"patient_id": patient_id, "start_date": _today(), "created_by": "Dr. Ada Prescriber"}
    key = str(uuid.uuid4())
    created = _post(f"{orders_url}/orders", body, key)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "draft" and order["calculation"]["dose_mg"] == 34.0
    assert order["series"]["status"] == "draft" and len(order["series"]["infusions"]) == 6
    replay = _post(f"{orders_url}/orders", body, key)  # a retried request: the first answer, no second order
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["order_id"] == order["order_id"]

    order_id, series_id = order["order_id"], order["series"]["series_id"]
    signed = _post(f"{orders_url}/orders/{order_id}/sign", {"signed_by": "Dr. Ada Prescriber", "attested": True})
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "active" and signed.json()["series"]["status"] == "active"

    request = wait_for(lambda: _ehr_order(ehr, order_id, "active"), what="the signed MedicationRequest in the EHR")
    dosage = request["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 0.5
    assert dosage["doseAndRate"][1]["doseQuantity"] == {**dosage["doseAndRate"][1]["doseQuantity"], "value": 34,
                                                        "code": "mg"}
    assert dosage["doseAndRate"][1]["rateQuantity"]["value"] == 155.1
    assert dosage["timing"]["repeat"]["duration"] == 40
    assert request["supportingInformation"][0] == {"reference": f"Observation/{weight_id}"}
    # The product the volume was drawn at and the actual weight travel with the order (issue 13 defects 1, 13).
    contained = {r["id"]: r for r in request["contained"]}
    assert contained["ketamine-product"]["ingredient"][0]["strength"]["numerator"]["value"] == 10
    assert "Add 3.4 mL of ketamine 10 mg/mL" in dosage["text"]
    assert contained["actual-weight"]["valueQuantity"]["value"] == 68.4
    assert request["reasonCode"][0]["coding"][0]["code"] == "370143000"
    assert request["requester"]["display"] == "Dr. Ada Prescriber"
    care_plans = by_ketalink_identifier(ehr, "CarePlan", "series", series_id)
    assert len(care_plans) == 1 and care_plans[0]["status"] == "active"
    assert [a["detail"]["status"] for a in care_plans[0]["activity"]] == ["scheduled"] * 6
    assert request["basedOn"][0]["reference"] == f"CarePlan/{care_plans[0]['id']}"
    signed_message = messages_about_order(broker.bootstrap, ORDERS_EVENTS, order_id)[0]
    assert signed_message.event_code == "order-signed"
    answers = wait_for(lambda: responses_to(broker.bootstrap, EHR_RESPONSES, signed_message.message_id),
                       what="the EHR's answer to order-signed")
    assert [a.response_code.value for a in answers] == ["ok"]

    series = requests.get(f"{orders_url}/patients/{patient_id}/series", timeout=5).json()["series"]
    assert [(s["series_id"], s["status"], s["scheduled_count"]) for s in series] == [(series_id, "active", 6)]
    assert series[0]["reevaluation_due"] is not None

    again = _post(f"{orders_url}/orders/{order_id}/sign", {"signed_by": "Dr. Ada Prescriber", "attested": True})
    assert again.status_code == 409 and _expressions(again.json()) == ["status"]
    second = _post(f"{orders_url}/orders", {**body, "created_by": "Dr. Second"})
    assert second.status_code == 409 and series_id in second.json()["issue"][0]["diagnostics"]

    held = _post(f"{orders_url}/orders/{order_id}/hold", {"by": "RN Lee", "reason": "BP 172/104 before infusion"})
    assert held.status_code == 200 and held.json()["status"] == "on-hold"
    wait_for(lambda: _ehr_order(ehr, order_id, "on-hold"), what="order-changed (hold) applied in the EHR")
    resumed = _post(f"{orders_url}/orders/{order_id}/resume", {"by": "Dr. Ada Prescriber"})
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    wait_for(lambda: _ehr_order(ehr, order_id, "active"), what="order-changed (resume) applied in the EHR")
    cancelled = _post(f"{orders_url}/orders/{order_id}/cancel", {"by": "Dr. Ada Prescriber",
                                                                  "reason": "patient withdrew"})
    assert cancelled.status_code == 200 and cancelled.json()["series"]["status"] == "revoked"
    wait_for(lambda: _ehr_order(ehr, order_id, "cancelled"), what="order-cancelled applied in the EHR")
    care_plan = by_ketalink_identifier(ehr, "CarePlan", "series", series_id)[0]
    assert care_plan["status"] == "revoked"
    assert {a["detail"]["status"] for a in care_plan["activity"]} == {"cancelled"}
    codes = [m.event_code for m in messages_about_order(broker.bootstrap, ORDERS_EVENTS, order_id)]
    assert codes == ["order-signed", "order-changed", "order-changed", "order-cancelled"]


def test_ideal_body_weight_preview_reads_height_and_sex(orders_url, patients):
    # KL-1001: female, 165 cm: Devine IBW 45.5 + 2.3 × (165 / 2.54 − 60) = 56.9 kg < 68.4 kg actual.
    answer = _post(f"{orders_url}/dose-preview", {"patient_id": patients["KL-1001"], "weight_basis": "ideal"})
    assert answer.status_code == 200, answer.text
    calculation = answer.json()["calculation"]
    assert calculation["weight_basis_used"] == "ideal" and calculation["sex"] == "female"
    assert round(calculation["ideal_weight_kg"], 1) == 56.9 and calculation["dose_mg"] == 28.0


def test_not_eligible_patient_is_refused_with_the_reasons(orders_url, patients, decide):
    patient_id = patients["KL-1003"]
    decide(patient_id, outcome="not-eligible", consent_status="rejected")
    answer = _post(f"{orders_url}/orders", {"patient_id": patient_id, "start_date": _today(),
                                            "created_by": "Dr. Ada Prescriber"})
    assert answer.status_code == 422, answer.text
    assert _expressions(answer.json()) == ["eligibility.status", "eligibility.consent_on_file"]
    series = requests.get(f"{orders_url}/patients/{patient_id}/series", timeout=5).json()["series"]
    assert series == []


def test_unknown_patient_is_refused(orders_url):
    for path, body in (("/dose-preview", {"patient_id": "no-such-patient"}),
                       ("/orders", {"patient_id": "no-such-patient", "start_date": _today(), "created_by": "Dr."})):
        answer = _post(f"{orders_url}{path}", body)
        assert answer.status_code == 422, answer.text
        assert _expressions(answer.json()) == ["patient_id"]
        assert "not known to the EHR" in answer.json()["issue"][0]["diagnostics"]


def test_weight_outside_the_window_is_refused(orders_url, patients, decide):
    # KL-1004 was weighed (in lb) 60 days ago; the clinic doses only from a weight of the last 30 days.
    patient_id = patients["KL-1004"]
    decide(patient_id)
    for path, body in (("/dose-preview", {"patient_id": patient_id}),
                       ("/orders", {"patient_id": patient_id, "start_date": _today(), "created_by": "Dr. A"})):
        answer = _post(f"{orders_url}{path}", body)
        assert answer.status_code == 422, answer.text
        issue = answer.json()["issue"][0]
        assert issue["expression"] == ["weight.measured_at"] and "older than 30 days" in issue["diagnostics"]


@pytest.mark.parametrize(("body", "field"), [
    ({"mg_per_kg": "a lot"}, "mg_per_kg"),
    ({"duration_min": 45.5}, "duration_min"),
    ({"weight_basis": "lean"}, "weight_basis"),
    ({"mg_per_kg": 5}, "mg_per_kg"),  # above even the override maximum
    ({"mg_per_kg": 1.2}, "mg_per_kg"),  # above the clinic maximum without an override
    ({"duration_min": 20}, "duration_min"),
    ({"override": {"reason": "", "authorised_by": "Dr. A"}}, "override.reason"),
    ({"dose": 40}, "dose"),  # unknown field
])
def test_bad_input_is_refused_naming_the_field(orders_url, patients, body, field):
    answer = _post(f"{orders_url}/dose-preview", {"patient_id": patients["KL-1001"], **body})
    assert answer.status_code == 400, answer.text
    assert field in _expressions(answer.json())


def test_an_override_allows_a_dose_above_the_clinic_maximum(orders_url, patients):
    answer = _post(f"{orders_url}/dose-preview", {"patient_id": patients["KL-1001"], "mg_per_kg": 1.2, "override": {
        "reason": "partial response at 1.0 mg/kg", "authorised_by": "Dr. Ada Prescriber"}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["calculation"]["dose_mg"] == 82.0  # 1.2 × 68.4 = 82.08
    assert "by override of Dr. Ada Prescriber" in answer.json()["text"]


def test_bad_requests_and_unknown_records(orders_url, patients, decide):
    not_json = requests.post(f"{orders_url}/orders", data="patient", timeout=5)
    assert not_json.status_code == 400 and not_json.json()["resourceType"] == "OperationOutcome"
    bad_date = _post(f"{orders_url}/orders", {"patient_id": patients["KL-1002"], "start_date": "next monday",
                                              "created_by": "Dr. A"})
    assert bad_date.status_code == 400 and _expressions(bad_date.json()) == ["start_date"]
    decide(patients["KL-1001"])  # eligible, weighed 2 days ago, no series running: only the date is wrong
    past = _post(f"{orders_url}/orders", {"patient_id": patients["KL-1001"], "start_date": "2020-01-06",
                                          "created_by": "Dr. A"})
    assert past.status_code == 400 and _expressions(past.json()) == ["start_date"]
    missing = requests.get(f"{orders_url}/orders/{uuid.uuid4()}", timeout=5)
    assert missing.status_code == 404 and _expressions(missing.json()) == ["order_id"]
    no_decision = requests.get(f"{orders_url}/patients/never-seen/eligibility", timeout=5)
    assert no_decision.status_code == 404
    hold_unknown = _post(f"{orders_url}/orders/{uuid.uuid4()}/hold", {"by": "RN Lee", "reason": "BP"})
    assert hold_unknown.status_code == 404
    assert "/orders" in requests.get(f"{orders_url}/openapi.json", timeout=5).json()["paths"]


def test_redelivered_late_and_malformed_eligibility_messages(orders_url, patients, broker):
    patient_id = patients["KL-1002"]
    current = eligibility_message(patient_id)
    older = eligibility_message(patient_id, outcome="not-eligible",
                                decided_at=datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    malformed = eligibility_message(patient_id)
    malformed["entry"][1]["resource"]["prediction"][0]["outcome"]["coding"][0]["code"] = "maybe"
    publish(broker.bootstrap, INTAKE_EVENTS, current, key=patient_id)
    publish(broker.bootstrap, INTAKE_EVENTS, current, key=patient_id)  # redelivery
    publish(broker.bootstrap, INTAKE_EVENTS, older, key=patient_id)  # an older decision arriving late
    publish(broker.bootstrap, INTAKE_EVENTS, malformed, key=patient_id)  # same key: read after the others

    def dead_lettered():
        return [r for r in read_all(broker.bootstrap, dead_letter_topic(INTAKE_EVENTS))
                if message_id(malformed).encode() in r.value]

    dead = wait_for(dead_lettered, timeout_s=20, what="the malformed decision on the dead-letter topic")
    assert b"unknown eligibility outcome" in dict(dead[0].headers)["dlq-reason"]
    decision = requests.get(f"{orders_url}/patients/{patient_id}/eligibility", timeout=5).json()
    assert decision["intake_id"] == current["entry"][1]["resource"]["identifier"][0]["value"]
    assert decision["status"] == "eligible" and decision["may_order"] is True
