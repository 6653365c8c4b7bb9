import copy
from dataclasses import replace

import pytest

from shared.fhir.codes import KETAMINE_100MG_PER_ML_INJECTION, RXNORM, SNOMED
from shared.fhir.datatypes import codeable_concept
from shared.fhir.validate import validate_resource
from services.orders.domain.dose import calculate_dose
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import WeightBasis
from services.orders.domain.cpoe import check_cpoe_order
from services.orders.domain.lifecycle import hold_order
from services.orders.domain.prescribed import PrescribedInfusion
from shared.errors import FhirMappingError
from services.orders.translators.medication_request_in import prescribed_infusion
from services.orders.translators.medication_request_out import medication_request_from_order
from tests.unit.orders.builders import (
    NOW, PATIENT, cpoe_medication_request, draft, eligibility, height, prescribed, settings, signed, weight,
)
from tests.unit.orders.builders import PRESCRIBER, NURSE_CY


def test_order_out_has_the_contract_shape():
    result = signed()
    resource = medication_request_from_order(result.order, result.series)
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/order",
                                       "value": "order-1"}]
    assert (resource["status"], resource["intent"], resource["subject"]) == (
        "active", "order", {"reference": f"Patient/{PATIENT}"})
    assert resource["authoredOn"] == "2026-11-20T09:00:00+00:00"
    assert resource["requester"] == PRESCRIBER.fhir_reference()  # the signer, by reference
    # The product is the calculation's own (10 mg/mL by default), coded by ingredient + strength: never 238083.
    medication = resource["contained"][0]
    assert resource["medicationReference"] == {"reference": "#ketamine-product",
                                               "display": "ketamine 10 mg/mL injection"}
    assert medication["code"]["coding"][0]["code"] == "ketamine"
    assert medication["ingredient"][0]["strength"]["numerator"]["value"] == 10
    assert medication["ingredient"][0]["strength"]["denominator"]["value"] == 1
    assert "Add 4.0 mL of ketamine 10 mg/mL" in resource["dosageInstruction"][0]["text"]
    assert resource["reasonCode"][0]["text"] == "Treatment-resistant major depressive disorder"
    assert resource["basedOn"] == [{"type": "CarePlan", "identifier": {
        "system": "https://ketalink.example.org/fhir/identifier/series", "value": "series-1"}}]
    assert resource["supportingInformation"] == [
        {"reference": "Observation/weight-1"},
        {"reference": "#actual-weight", "display": "actual body weight the dose was calculated from"}]
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
    held = hold_order(signed(), NURSE_CY, "BP 170/100", now=NOW.replace(hour=10))
    assert medication_request_from_order(held.order, held.series)["status"] == "on-hold"


@pytest.mark.parametrize("given, expected", [
    ("Observation/weight-77", {"reference": "Observation/weight-77"}),
    ("weight-77", {"reference": "Observation/weight-77"}),
    ({"reference": "https://ehr.example.org/fhir/Observation/weight-77"},
     {"reference": "https://ehr.example.org/fhir/Observation/weight-77"}),
])
def test_the_weight_reference_given_by_the_caller_is_used(given, expected):
    result = signed()
    assert medication_request_from_order(result.order, result.series, given)["supportingInformation"][0] == expected


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


def test_a_duration_of_1e308_hours_is_refused_as_a_reason_not_a_crash():
    """1e308 h is an infinite number of minutes: the check names the duration instead of failing on int(inf)."""
    resource = cpoe_medication_request()
    dosage = resource["dosageInstruction"][0]
    dosage["timing"]["repeat"].update({"duration": 1e308, "durationUnit": "h"})
    del dosage["doseAndRate"][0]["rateRatio"]
    decision = check_cpoe_order(prescribed_infusion(resource), eligibility(), weight(), None, None, settings(),
                                now=NOW)
    assert not decision.accepted and [r.field for r in decision.reasons] == ["duration_min"]


def test_a_contained_medication_is_read():
    order = prescribed_infusion(cpoe_medication_request())
    assert (order.medication_code, order.medication_strength_mg_per_ml, order.medication_is_ketamine) == (
        None, 10.0, True)


def test_an_ehr_coded_product_is_read_with_its_verified_strength():
    resource = cpoe_medication_request()
    del resource["contained"], resource["medicationReference"]
    resource["medicationCodeableConcept"] = codeable_concept(KETAMINE_100MG_PER_ML_INJECTION)
    order = prescribed_infusion(resource)
    assert (order.medication_code, order.medication_strength_mg_per_ml) == ("238083", 100.0)


def test_an_unverified_rxnorm_code_states_no_strength():
    resource = cpoe_medication_request()
    del resource["contained"], resource["medicationReference"]
    resource["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "238082"}]}
    assert prescribed_infusion(resource).medication_strength_mg_per_ml is None


def test_the_reason_is_read():
    resource = cpoe_medication_request(reasonCode=[{"coding": [{"system": SNOMED, "code": "370143000"}],
                                                    "text": "MDD"}])
    order = prescribed_infusion(resource)
    assert (order.reason_codes, order.reason_text) == ((f"{SNOMED}|370143000",), "MDD")


def test_an_order_at_a_stocked_100_mg_per_ml_product_codes_238083_and_agrees_with_its_text():
    protocol = settings(stocked_products=("ketamine-10", "ketamine-100"), dosing_product="ketamine-100")
    result = signed(protocol)
    resource = medication_request_from_order(result.order, result.series)
    medication = resource["contained"][0]
    assert medication["code"]["coding"][0] == {"system": RXNORM, "code": "238083",
                                               "display": "ketamine 100 MG/ML Injectable Solution"}
    assert medication["ingredient"][0]["strength"]["numerator"]["value"] == 100
    calc = result.order.calculation
    assert (calc.drug_volume_ml, calc.drawn_mg) == (0.4, 40.0)
    assert "Add 0.40 mL of ketamine 100 mg/mL" in resource["dosageInstruction"][0]["text"]
    assert validate_resource(resource) is resource


def test_the_actual_weight_travels_with_the_order_even_when_the_dose_used_another_weight():
    protocol = settings(weight_basis=WeightBasis.IDEAL)
    calc = calculate_dose(weight(110.0), height(170.0), Sex.MALE, protocol, now=NOW)
    result = signed()
    order = replace(result.order, calculation=calc)
    contained = medication_request_from_order(order, result.series)["contained"][1]
    assert contained["id"] == "actual-weight" and contained["valueQuantity"]["value"] == 110.0
    assert contained["derivedFrom"] == [{"reference": "Observation/weight-1"}]
    assert calc.dosing_weight_kg < 70


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
    (lambda r: r.update(medicationReference={"reference": "Medication/m1"}),
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
