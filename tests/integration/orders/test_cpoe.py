"""Ketamine orders placed in the EHR's CPOE (``cpoe-order-placed`` on ehr.events): accepted into a signed series
with an ``ok`` response, or rejected with a ``fatal-error`` response naming every reason; a redelivered or resent
order creates nothing twice."""
from __future__ import annotations

import pytest
import requests

from deploy.ehr_sandbox.ehr_events import record_and_announce
from shared.events.topics import EHR_EVENTS, ORDERS_EVENTS
from tests.integration.orders.support import (
    by_ketalink_identifier, cpoe_medication_request, message_id, messages_about_order, responses_to,
)
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration


def _place(broker, ehr, request: dict) -> dict:
    """Write the order to the EHR and announce it, as the EHR's interface engine does; returns the message."""
    _stored, message = record_and_announce(ehr.client, request, "cpoe-order-placed")
    publish(broker.bootstrap, EHR_EVENTS, message, key=request["subject"]["reference"].split("/")[1])
    return message


def _answer(broker, message: dict):
    answers = wait_for(lambda: responses_to(broker.bootstrap, ORDERS_EVENTS, message_id(message)),
                       what="the orders service's answer to the CPOE order")
    assert len(answers) == 1
    assert answers[0].event_code == "cpoe-order-response"
    return answers[0]


def _series(orders_url: str, patient_id: str) -> list[dict]:
    return requests.get(f"{orders_url}/patients/{patient_id}/series", timeout=5).json()["series"]


def test_cpoe_order_accepted_once_and_a_second_series_rejected(orders_url, patients, decide, broker, ehr):
    patient_id = patients["KL-1002"]  # 92 kg: 0.5 mg/kg = 46 mg
    decide(patient_id)
    request = cpoe_medication_request(patient_id, dose_mg=46)
    message = _place(broker, ehr, request)
    publish(broker.bootstrap, EHR_EVENTS, message, key=patient_id)  # the same message delivered again

    answer = _answer(broker, message)
    assert answer.response_code.value == "ok"
    info = answer.first("OperationOutcome")["issue"][0]
    assert info["severity"] == "information"
    series = _series(orders_url, patient_id)
    assert len(series) == 1 and series[0]["status"] == "active" and series[0]["infusion_count"] == 6
    order = requests.get(f"{orders_url}/orders/{series[0]['order_id']}", timeout=5).json()
    assert order["source"] == "ehr-cpoe" and order["status"] == "active"
    assert order["calculation"]["dose_mg"] == 46.0 and order["signed_by"]["display"] == "Dr. CPOE Prescriber"
    assert order["order_id"] in info["details"]["text"]
    events = messages_about_order(broker.bootstrap, ORDERS_EVENTS, order["order_id"])
    assert [e.event_code for e in events] == ["order-signed"]
    wait_for(lambda: by_ketalink_identifier(ehr, "MedicationRequest", "order", order["order_id"]),
             what="the accepted order in the EHR")

    # The EHR sends the same order again in a new message: answered again, nothing new is created.
    _stored, resent = record_and_announce(ehr.client, request, "cpoe-order-placed")
    publish(broker.bootstrap, EHR_EVENTS, resent, key=patient_id)
    assert _answer(broker, resent).response_code.value == "ok"
    assert len(_series(orders_url, patient_id)) == 1
    assert len(messages_about_order(broker.bootstrap, ORDERS_EVENTS, order["order_id"])) == 1

    # Another order while that series runs is rejected with the reason.
    other = _place(broker, ehr, cpoe_medication_request(patient_id, dose_mg=46))
    rejected = _answer(broker, other)
    assert rejected.response_code.value == "fatal-error"
    issues = rejected.first("OperationOutcome")["issue"]
    assert [i["expression"] for i in issues] == [["MedicationRequest.subject"]]
    assert "already has a signed series" in issues[0]["details"]["text"]
    assert len(_series(orders_url, patient_id)) == 1


def test_cpoe_order_for_an_ineligible_patient_is_rejected(orders_url, patients, decide, broker, ehr):
    patient_id = patients["KL-1003"]
    decide(patient_id, outcome="not-eligible", consent_status="rejected")
    message = _place(broker, ehr, cpoe_medication_request(patient_id, mg_per_kg=0.5))

    answer = _answer(broker, message)
    assert answer.response_code.value == "fatal-error"
    reasons = [i["details"]["text"] for i in answer.first("OperationOutcome")["issue"]]
    assert "the intake found the patient not eligible" in reasons
    assert "no signed consent is on file" in reasons
    assert _series(orders_url, patient_id) == []


def test_cpoe_order_outside_the_protocol_is_rejected_naming_each_element(orders_url, patients, decide, broker,
                                                                        ehr):
    patient_id = patients["KL-1004"]  # eligible, but weighed 60 days ago
    decide(patient_id)
    message = _place(broker, ehr, cpoe_medication_request(patient_id, mg_per_kg=2.0, duration_min=20))

    answer = _answer(broker, message)
    assert answer.response_code.value == "fatal-error"
    expressions = {i["expression"][0] for i in answer.first("OperationOutcome")["issue"]}
    assert expressions == {
        "MedicationRequest.supportingInformation",  # the weight is older than the clinic's window
        "MedicationRequest.dosageInstruction[0].doseAndRate.where(type.coding.code='ordered').doseQuantity",
        "MedicationRequest.dosageInstruction[0].timing.repeat.duration",
    }
    assert _series(orders_url, patient_id) == []
