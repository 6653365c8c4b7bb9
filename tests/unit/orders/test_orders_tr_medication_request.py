import copy
from dataclasses import replace

import pytest

from shared.fhir.validate import validate_resource
from services.orders.domain.cpoe import check_cpoe_order
from services.orders.domain.lifecycle import hold_order
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.translators.errors import FhirMappingError
from services.orders.translators.medication_request_in import prescribed_infusion
from services.orders.translators.medication_request_out import medication_request_from_order
from tests.unit.orders.builders import (
    NOW, PATIENT, cpoe_medication_request, draft, eligibility, prescribed, settings, signed, weight,
)


def test_order_out_has_the_contract_shape():
    result = signed()
    resource = medication_request_from_order(result.order, result.series)
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/order",
                                       "value": "order-1"}]
    assert (resource["status"], resource["intent"], resource["subject"]) == (
        "active", "order", {"reference": f"Patient/{PATIENT}"})
    assert resource["authoredOn"] == "2026-11-20T09:00:00+00:00"
    assert resource["requester"] == {"display": "Dr Ada Prescriber"}
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == "238083"
    assert resource["basedOn"] == [{"type": "CarePlan", "identifier": {
        "system": "https://ketalink.example.org/fhir/identifier/series", "value": "series-1"}}]
    assert resource["supportingInformation"] == [{"reference": "Observation/weight-1"}]
    dosage = resource["dosageInstruction"][0]
    assert dosage["route"]["coding"][0]["code"] == "47625008"
    assert dosage["timing"] == {"repeat": {"count": 1, "duration": 40, "durationUnit": "min"}}
    ordered, calculated = dosage["doseAndRate"]
    assert ordered["type"]["coding"][0]["code"] == "ordered"
    assert (ordered["doseQuantity"]["value"], ordered["doseQuantity"]["code"]) == (0.5, "mg/kg")
    assert ordered["rateRatio"]["numerator"]["value"] == 0.5
    assert (ordered["rateRatio"]["denominator"]["value"], ordered["rateRatio"]["denominator"]["code"]) == (40, "min")
    assert calculated["type"]["coding"][0]["code"] == "calculated"
    assert (calculated["doseQuantity"]["value"], calculated["doseQuantity"]["code"]) == (40, "mg")
    assert (calculated["rateQuantity"]["value"], calculated["rateQuantity"]["code"]) == (156.0, "mL/h")
    assert dosage["text"] == result.order.calculation.text
    assert resource["dispenseRequest"] == {"numberOfRepeatsAllowed": 5}
    assert validate_resource(resource) is resource


def test_a_draft_has_no_requester_and_a_held_order_says_on_hold():
    created = draft()
    assert "requester" not in medication_request_from_order(created.order, created.series)
    held = hold_order(signed(), "Nurse Cy", "BP 170/100", now=NOW.replace(hour=10))
    assert medication_request_from_order(held.order, held.series)["status"] == "on-hold"


@pytest.mark.parametrize("given, expected", [
    ("Observation/weight-77", {"reference": "Observation/weight-77"}),
    ("weight-77", {"reference": "Observation/weight-77"}),
    ({"reference": "https://ehr.example.org/fhir/Observation/weight-77"},
     {"reference": "https://ehr.example.org/fhir/Observation/weight-77"}),
])
def test_the_weight_reference_given_by_the_caller_is_used(given, expected):
    result = signed()
    assert medication_request_from_order(result.order, result.series, given)["supportingInformation"] == [expected]


def test_order_out_needs_a_weight_observation_and_its_own_series():
    result = signed()
    calculation = replace(result.order.calculation, weight=weight(observation_id=None))
    with pytest.raises(ValueError, match="weight Observation"):
        medication_request_from_order(replace(result.order, calculation=calculation), result.series)
    with pytest.raises(ValueError, match="not the series"):
        medication_request_from_order(result.order, replace(result.series, series_id="series-2"))


@pytest.mark.parametrize("build", [draft, signed])
def test_round_trip_out_then_in_gives_what_was_prescribed(build):
    result = build()
    read_back = prescribed_infusion(medication_request_from_order(result.order, result.series))
    assert read_back == PrescribedInfusion.from_order(result)
    assert (read_back.order_id, read_back.series_id, read_back.dose_mg, read_back.infusion_count) == (
        "order-1", "series-1", 40, 6)


def test_a_cpoe_order_in_reads_every_element():
    order = prescribed_infusion(cpoe_medication_request())
    assert order == prescribed(authored_on=NOW, text=None, order_id=None, series_id=None, duration_min=40.0)


def test_a_cpoe_order_read_in_and_checked_is_accepted():
    decision = check_cpoe_order(prescribed_infusion(cpoe_medication_request()), eligibility(), weight(), None,
                                None, settings(), now=NOW)
    assert decision.accepted and decision.ehr_request_id == "ehr-mr-9"


def test_duration_in_hours_is_converted_to_minutes():
    resource = cpoe_medication_request()
    dosage = resource["dosageInstruction"][0]
    dosage["timing"]["repeat"].update({"duration": 0.75, "durationUnit": "h"})
    dosage["doseAndRate"][0]["rateRatio"]["denominator"] = {"value": 45, "unit": "min",
                                                            "system": "http://unitsofmeasure.org", "code": "min"}
    assert prescribed_infusion(resource).duration_min == 45


def test_a_contained_medication_is_read():
    resource = cpoe_medication_request()
    concept = resource.pop("medicationCodeableConcept")
    resource["contained"] = [{"resourceType": "Medication", "id": "ket", "code": concept}]
    resource["medicationReference"] = {"reference": "#ket"}
    assert prescribed_infusion(resource).medication_code == "238083"


def test_a_flat_mg_dose_is_read_so_the_check_can_reject_it():
    resource = cpoe_medication_request()
    dose_and_rate = resource["dosageInstruction"][0]["doseAndRate"]
    dose_and_rate[:] = [{"type": dose_and_rate[0]["type"], "doseQuantity": {"value": 40, "code": "mg",
                                                                            "system": "http://unitsofmeasure.org"}}]
    order = prescribed_infusion(resource)
    assert (order.mg_per_kg, order.dose_mg, order.duration_min) == (None, 40, 40)
    decision = check_cpoe_order(order, eligibility(), weight(), None, None, settings(), now=NOW)
    assert [r.field for r in decision.reasons] == ["mg_per_kg"]


def test_missing_dosage_elements_become_none():
    resource = cpoe_medication_request()
    del resource["dosageInstruction"]
    del resource["dispenseRequest"]
    order = prescribed_infusion(resource)
    assert (order.route_code, order.mg_per_kg, order.duration_min, order.dose_mg, order.infusion_count) == (
        None, None, None, None, None)


def _mutated(change):
    resource = copy.deepcopy(cpoe_medication_request())
    change(resource)
    return resource


@pytest.mark.parametrize("change, expression", [
    (lambda r: r["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].update(code="g", unit="g"),
     "MedicationRequest.dosageInstruction[0].doseAndRate.where(type.coding.code='ordered').doseQuantity"),
    (lambda r: r["dosageInstruction"][0]["doseAndRate"][1]["rateQuantity"].update(code="mL/min", unit="mL/min"),
     "MedicationRequest.dosageInstruction[0].doseAndRate.where(type.coding.code='calculated').rateQuantity"),
    (lambda r: r["dosageInstruction"][0]["timing"]["repeat"].update(durationUnit="d"),
     "MedicationRequest.dosageInstruction[0].timing.repeat.durationUnit"),
    (lambda r: r["dosageInstruction"][0]["timing"]["repeat"].update(duration=60),
     "MedicationRequest.dosageInstruction[0].doseAndRate.where(type.coding.code='ordered').rateRatio"),
    (lambda r: r["dosageInstruction"][0]["doseAndRate"][0]["rateRatio"]["numerator"].update(value=1.0),
     "MedicationRequest.dosageInstruction[0].doseAndRate.where(type.coding.code='ordered').rateRatio"),
    (lambda r: r["dosageInstruction"].append(copy.deepcopy(r["dosageInstruction"][0])),
     "MedicationRequest.dosageInstruction"),
    (lambda r: r.update(subject={"reference": "Group/g1"}), "MedicationRequest.subject"),
    (lambda r: (r.pop("medicationCodeableConcept"), r.update(medicationReference={"reference": "Medication/m1"})),
     "MedicationRequest.medicationReference"),
])
def test_what_cannot_be_read_safely_is_refused_naming_the_element(change, expression):
    with pytest.raises(FhirMappingError) as caught:
        prescribed_infusion(_mutated(change))
    assert caught.value.field == expression


def test_a_dose_range_cannot_be_checked():
    resource = cpoe_medication_request()
    resource["dosageInstruction"][0]["doseAndRate"][0] = {
        "type": resource["dosageInstruction"][0]["doseAndRate"][0]["type"],
        "doseRange": {"low": {"value": 0.5, "code": "mg/kg"}, "high": {"value": 1.0, "code": "mg/kg"}}}
    with pytest.raises(FhirMappingError, match="dose range") as caught:
        prescribed_infusion(resource)
    assert caught.value.field == "MedicationRequest.dosageInstruction[0].doseAndRate.doseRange"


def test_a_structurally_invalid_request_names_the_element():
    with pytest.raises(FhirMappingError) as caught:
        prescribed_infusion(cpoe_medication_request(dosageInstructions=[]))
    assert "dosageInstructions" in caught.value.field


def test_another_resource_type_is_refused():
    with pytest.raises(FhirMappingError, match="expected a MedicationRequest"):
        prescribed_infusion({"resourceType": "MedicationStatement"})
