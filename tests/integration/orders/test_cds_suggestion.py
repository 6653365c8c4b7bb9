"""An accepted CDS Hooks suggestion places a protocol-correct order that the orders service accepts: against a real
orders process (the CDS Hooks service with a pinned EHR key), the real broker and the EHR sandbox. The EHR's
draft with a wrong dose gets the critical dose card at ``order-sign``; its ``update`` suggestion, sent back as the
draft, gets no card; placed in the EHR and announced as ``cpoe-order-placed``, the orders service answers ``ok``
and writes the signed order with the protocol's dose and pump rate to the EHR."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from deploy.ehr_sandbox.ehr_events import record_and_announce
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.events.topics import EHR_EVENTS, INTAKE_EVENTS, ORDERS_EVENTS
from shared.fhir.codes import BODY_WEIGHT, OBSERVATION_CATEGORY, identifier_system
from shared.fhir.datatypes import coding, instant, quantity
from tests.integration.orders.cds_hooks_support import SIGN, Stack, cds_stack, hook_request
from tests.integration.orders.support import cpoe_medication_request, eligibility_message, message_id, responses_to
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(broker: Any, ehr: Any, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with cds_stack(broker, ehr, log_dir, tmp_path_factory.mktemp("cds-suggestion")) as started:
        yield started


def _new_patient(ehr: Any, weight_kg: float) -> str:
    """A patient of this test alone, weighed yesterday (no other test's order or series in the way)."""
    mrn = f"KL-CDS-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.client.create_if_none_exist({
        "resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}], "active": True,
        "name": [{"family": "Cards", "given": ["Sam"]}], "gender": "male", "birthDate": "1975-05-05",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    value = f"{mrn}-weight"
    ehr.client.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": value}], "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_WEIGHT)]}, "subject": {"reference": f"Patient/{patient['id']}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc) - timedelta(days=1)),
        "valueQuantity": quantity(weight_kg, "kg"),
    }, f"identifier={MRN_SYSTEM}|{value}")
    return patient["id"]


def _order_sign(stack: Stack, ehr: Any, patient_id: str, draft: dict[str, Any]) -> list[dict[str, Any]]:
    token = ehr.headers()["Authorization"].removeprefix("Bearer ")
    body = hook_request("order-sign", patient_id, [draft], fhir_server=ehr.base_url, token=token)
    answer = stack.call(stack.pinned.token(stack.aud(SIGN)), body, SIGN)
    assert answer.status_code == 200, answer.text
    return answer.json()["cards"]


def _draft(patient_id: str, **changes: Any) -> dict[str, Any]:
    return cpoe_medication_request(patient_id, **changes) | {"id": f"draft-{uuid.uuid4().hex[:8]}", "status": "draft"}


def test_an_accepted_suggestion_places_an_order_the_orders_service_accepts(stack: Stack, ehr: Any,
                                                                           broker: Any) -> None:
    patient_id = _new_patient(ehr, 80.0)  # 0.5 mg/kg → 40 mg; 4 mL in 100 mL over 40 min → 156 mL/h
    publish(broker.bootstrap, INTAKE_EVENTS, eligibility_message(patient_id), key=patient_id)
    last: dict[str, Any] = {}

    def decision_arrived() -> bool:
        last["cards"] = _order_sign(stack, ehr, patient_id, _draft(patient_id, dose_mg=40))
        return not last["cards"]

    wait_for(decision_arrived, timeout_s=30, what="the eligibility decision to reach orders (a card-free order)",
             explain=lambda: f"cards then: {[c['summary'] for c in last.get('cards', [])]}")

    wrong = _draft(patient_id, mg_per_kg=1.2, dose_mg=96)  # above the clinic maximum: no override through CPOE
    cards = _order_sign(stack, ehr, patient_id, wrong)
    dose_cards = [c for c in cards if c["source"]["topic"]["code"] == "dose"]
    assert [c["indicator"] for c in dose_cards] == ["critical"], cards
    assert dose_cards[0]["overrideReasons"]
    (suggestion,) = dose_cards[0]["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    accepted = action["resource"]
    assert accepted["id"] == wrong["id"] and accepted["identifier"] == wrong["identifier"]

    assert _order_sign(stack, ehr, patient_id, accepted) == []  # the suggestion, as the new draft, is card-free

    placed = {key: value for key, value in accepted.items() if key != "id"} | {"status": "active"}
    _stored, message = record_and_announce(ehr.client, placed, "cpoe-order-placed")
    publish(broker.bootstrap, EHR_EVENTS, message, key=patient_id)
    answers = wait_for(lambda: responses_to(broker.bootstrap, ORDERS_EVENTS, message_id(message)),
                       timeout_s=60, what="the orders service's answer to the placed suggestion")
    assert answers and {a.response_code.value for a in answers} == {"ok"}, \
        [a.first("OperationOutcome") for a in answers]

    order_system = identifier_system("order")

    def ketalink_order() -> list[dict[str, Any]]:
        found = ehr.client.search("MedicationRequest", {"subject": f"Patient/{patient_id}"})
        return [r for r in found if any(i.get("system") == order_system for i in r.get("identifier") or [])]

    # One signed order per orders process reading ehr.events: this module's, and the package's when it runs.
    signed = wait_for(ketalink_order, timeout_s=60, what="the accepted order in the EHR")
    for order in signed:
        calculated = order["dosageInstruction"][0]["doseAndRate"][1]
        assert (order["status"], calculated["doseQuantity"]["value"], calculated["rateQuantity"]["value"]) == \
            ("active", 40, 156)
