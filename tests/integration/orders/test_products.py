"""CPOE orders for each ketamine product the clinic stocks (issue 13 defect 1), against the real broker, EHR sandbox
and orders service (the package's clinic stocks 10 and 100 mg/mL and doses its own orders from 10 mg/mL): an order
for the stocked 100 mg/mL product is dosed at 100 mg/mL, and the MedicationRequest the EHR receives codes that
product with a code, a strength, a text and a volume that agree; an order for an unstocked strength is refused with
the reason; the EHR's copy carries the indication (defect 12)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from deploy.ehr_sandbox.ehr_events import record_and_announce
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.events.topics import EHR_EVENTS, ORDERS_EVENTS
from shared.fhir.codes import BODY_WEIGHT, OBSERVATION_CATEGORY, SNOMED
from shared.fhir.datatypes import coding, instant, quantity
from tests.integration.orders.support import (
    by_ketalink_identifier, cpoe_medication_request, message_id, responses_to,
)
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration


def _new_patient(ehr, weight_kg: float) -> str:
    """A patient of this test alone (so no other test's series is in the way), weighed yesterday."""
    mrn = f"KL-T-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.client.create_if_none_exist({
        "resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}], "active": True,
        "name": [{"family": "Product", "given": ["Test"]}], "gender": "male", "birthDate": "1980-05-05",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    weighed = datetime.now(timezone.utc) - timedelta(days=1)
    ehr.client.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": f"{mrn}-weight"}],
        "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_WEIGHT)]}, "subject": {"reference": f"Patient/{patient['id']}"},
        "effectiveDateTime": instant(weighed), "valueQuantity": quantity(weight_kg, "kg"),
    }, f"identifier={MRN_SYSTEM}|{mrn}-weight")
    return patient["id"]


def _answer(broker, ehr, request: dict):
    _stored, message = record_and_announce(ehr.client, request, "cpoe-order-placed")
    publish(broker.bootstrap, EHR_EVENTS, message, key=request["subject"]["reference"].split("/")[1])
    answers = wait_for(lambda: responses_to(broker.bootstrap, ORDERS_EVENTS, message_id(message)),
                       what="the orders service's answer to the CPOE order")
    assert len(answers) == 1
    return answers[0]


def test_a_cpoe_order_for_the_stocked_100_mg_per_ml_product_is_dosed_and_coded_at_that_strength(
        orders_url, decide, broker, ehr):
    patient_id = _new_patient(ehr, 84.0)  # 0.5 mg/kg = 42 mg = 0.42 mL of 100 mg/mL (4.2 mL would be 420 mg)
    decide(patient_id)
    request = cpoe_medication_request(patient_id, dose_mg=42, strength_mg_per_ml=100.0)
    request["reasonCode"] = [{"coding": [{"system": SNOMED, "code": "370143000"}], "text": "Major depressive disorder"}]
    answer = _answer(broker, ehr, request)
    assert answer.response_code.value == "ok", answer.first("OperationOutcome")
    series = requests.get(f"{orders_url}/patients/{patient_id}/series", timeout=5).json()["series"]
    order = requests.get(f"{orders_url}/orders/{series[0]['order_id']}", timeout=5).json()
    assert order["calculation"]["concentration_mg_per_ml"] == 100.0
    assert (order["calculation"]["dose_mg"], order["calculation"]["drug_volume_ml"]) == (42.0, 0.42)

    sent = wait_for(lambda: by_ketalink_identifier(ehr, "MedicationRequest", "order", order["order_id"]),
                    what="the accepted order in the EHR")[0]
    (medication,) = [r for r in sent["contained"] if r["resourceType"] == "Medication"]
    assert sent["medicationReference"]["reference"] == f"#{medication['id']}"
    assert medication["code"]["coding"][0]["code"] == "238083"  # RxNorm ketamine 100 MG/ML Injectable Solution
    strength = medication["ingredient"][0]["strength"]
    strength_mg_per_ml = strength["numerator"]["value"] / strength["denominator"]["value"]
    assert strength_mg_per_ml == 100
    dosage = sent["dosageInstruction"][0]
    calculated_mg = next(d for d in dosage["doseAndRate"]
                         if d["type"]["coding"][0]["code"] == "calculated")["doseQuantity"]["value"]
    drawn = re.search(r"Add ([\d.]+) mL of ketamine ([\d.]+) mg/mL", dosage["text"])
    assert drawn is not None, dosage["text"]
    volume_ml, text_strength = float(drawn.group(1)), float(drawn.group(2))
    # Code, strength, text and volume agree: the volume drawn from the coded product holds the calculated dose.
    assert text_strength == strength_mg_per_ml
    assert volume_ml * strength_mg_per_ml == pytest.approx(calculated_mg) == 42
    assert sent["reasonCode"][0]["text"] == "Major depressive disorder"


def test_a_cpoe_order_for_an_unstocked_strength_is_refused_with_the_reason(orders_url, decide, broker, ehr):
    patient_id = _new_patient(ehr, 70.0)
    decide(patient_id)
    answer = _answer(broker, ehr, cpoe_medication_request(patient_id, dose_mg=35, strength_mg_per_ml=50.0))
    assert answer.response_code.value == "fatal-error"
    (issue,) = answer.first("OperationOutcome")["issue"]
    assert issue["expression"] == ["MedicationRequest.medication"]
    assert "ketamine 50 mg/mL is not stocked by the clinic" in issue["details"]["text"]
    assert requests.get(f"{orders_url}/patients/{patient_id}/series", timeout=5).json()["series"] == []
