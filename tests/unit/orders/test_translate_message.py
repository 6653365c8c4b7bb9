from datetime import timedelta

import pytest

from services.orders.domain.lifecycle import cancel_order, complete_order, hold_order, resume_order
from services.orders.translators.message_out import order_event_code, order_message_resources
from tests.unit.orders.builders import NOW, PATIENT, draft, signed
from tests.unit.orders.builders import NURSE_CY
from shared.people import Person

LATER = NOW + timedelta(hours=2)


def test_order_message_resources_are_the_medication_request_then_the_care_plan():
    result = signed()
    resources = order_message_resources(result.order, result.series, PATIENT, "Observation/weight-1")
    assert [r["resourceType"] for r in resources] == ["MedicationRequest", "CarePlan"]
    request, plan = resources
    assert request["basedOn"][0]["identifier"] == plan["identifier"][0]
    assert request["dispenseRequest"]["numberOfRepeatsAllowed"] == len(plan["activity"]) - 1
    assert request["subject"] == plan["subject"] == {"reference": f"Patient/{PATIENT}"}
    local = order_message_resources(result.order, result.series, PATIENT, None, "America/New_York")[1]
    assert local["activity"][0]["detail"]["scheduledPeriod"]["start"] == "2026-11-23T00:00:00-05:00"


def test_a_message_never_mixes_patients():
    result = signed()
    with pytest.raises(ValueError, match="same patient"):
        order_message_resources(result.order, result.series, "patient-2", "Observation/weight-1")


def test_event_code_follows_the_last_change():
    created = draft()
    assert order_event_code(created.order) is None
    assert order_event_code(cancel_order(created, Person("Practitioner/dr-a", "Dr A"), "entered twice", now=LATER).order) is None
    active = signed()
    assert order_event_code(active.order) == "order-signed"
    held = hold_order(active, NURSE_CY, "BP 170/100", now=LATER)
    assert order_event_code(held.order) == "order-changed"
    resumed = resume_order(held, Person("Practitioner/dr-a", "Dr A"), now=LATER + timedelta(days=1))
    assert order_event_code(resumed.order) == "order-changed"
    assert order_event_code(complete_order(resumed, Person("Practitioner/dr-a", "Dr A"), now=LATER + timedelta(days=21)).order) == "order-changed"
    assert order_event_code(cancel_order(resumed, Person("Practitioner/dr-a", "Dr A"), "withdrew", now=LATER + timedelta(days=2)).order) == (
        "order-cancelled")
