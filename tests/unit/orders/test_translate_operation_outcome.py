from datetime import timedelta

import pytest

from services.orders.domain.cpoe import check_cpoe_order
from services.orders.domain.errors import EligibilityRefusedError, IllegalTransitionError, OrdersInputError
from services.orders.domain.lifecycle import sign_order
from shared.errors import FhirMappingError
from services.orders.translators.operation_outcome_out import cpoe_outcome, input_error_outcome
from tests.unit.orders.builders import NOW, draft, eligibility, prescribed, settings, weight
from shared.people import Person

LATER = NOW + timedelta(hours=2)
_DOSAGE = "MedicationRequest.dosageInstruction[0]"


def test_a_rejected_cpoe_order_gets_one_issue_per_reason_naming_the_element():
    order = prescribed(route_code="78421000", mg_per_kg=1.2, dose_mg=96, infusion_count=12)
    decision = check_cpoe_order(order, eligibility(consent_on_file=False), weight(days_ago=40), None, None,
                                settings(), now=NOW)
    outcome = cpoe_outcome(decision)
    assert outcome["resourceType"] == "OperationOutcome"
    assert [(i["severity"], i["code"]) for i in outcome["issue"]] == [("error", "business-rule")] * 5
    assert [i["expression"] for i in outcome["issue"]] == [
        [f"{_DOSAGE}.route"],
        ["MedicationRequest.subject"],
        ["MedicationRequest.supportingInformation"],
        [f"{_DOSAGE}.doseAndRate.where(type.coding.code='ordered').doseQuantity"],
        ["MedicationRequest.dispenseRequest.numberOfRepeatsAllowed"],
    ]
    assert "override" in outcome["issue"][3]["details"]["text"]
    assert "identifier" not in outcome  # OperationOutcome has no identifier element in R4


@pytest.mark.parametrize("overrides, expression", [
    ({"status": "draft"}, "MedicationRequest.status"),
    ({"intent": "plan"}, "MedicationRequest.intent"),
    ({"medication_code": "1"}, "MedicationRequest.medication"),
    ({"duration_min": 20.0}, f"{_DOSAGE}.timing.repeat.duration"),
    ({"dose_mg": 60.0}, f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').doseQuantity"),
    ({"rate_ml_per_h": 250.0}, f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').rateQuantity"),
])
def test_each_reason_maps_to_its_medication_request_element(overrides, expression):
    decision = check_cpoe_order(prescribed(**overrides), eligibility(), weight(), None, None, settings(), now=NOW)
    assert cpoe_outcome(decision)["issue"][0]["expression"] == [expression]


def test_an_accepted_cpoe_order_gets_an_information_issue_naming_the_new_order():
    decision = check_cpoe_order(prescribed(), eligibility(), weight(), None, None, settings(), now=NOW,
                                order_id="order-9", series_id="series-9")
    assert cpoe_outcome(decision)["issue"] == [{
        "severity": "information", "code": "informational",
        "details": {"text": "accepted as Ketalink order order-9 (series series-9)"}}]


@pytest.mark.parametrize("error, code", [
    (IllegalTransitionError("completed", "active"), "conflict"),
    (EligibilityRefusedError("eligibility.consent_on_file", "no signed consent is on file"), "business-rule"),
    (FhirMappingError("Observation.valueQuantity", "unit 'g' cannot be used here"), "invalid"),
    (OrdersInputError("mg_per_kg", "too high"), "invalid"),
])
def test_input_errors_become_an_outcome_naming_the_field(error, code):
    outcome = input_error_outcome(error)
    assert outcome["issue"] == [{"severity": "error", "code": code, "details": {"text": error.message},
                                 "expression": [error.field]}]


def test_an_error_with_several_violations_lists_each():
    with pytest.raises(EligibilityRefusedError) as caught:
        sign_order(draft(), eligibility(consent_on_file=False, patient_id="patient-2"), Person("Practitioner/dr-a", "Dr A"), settings(),
                   now=LATER)
    outcome = input_error_outcome(caught.value)
    assert [i["expression"] for i in outcome["issue"]] == [["eligibility.patient_id"],
                                                           ["eligibility.consent_on_file"]]
