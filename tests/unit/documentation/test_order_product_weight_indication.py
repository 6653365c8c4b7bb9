"""What documentation takes from the orders service's MedicationRequest (issue 13 defects 1, 12, 13): the product's
strength from the order itself, the indication, and the actual weight the dose was calculated from, which the
pre-infusion check compares with today's actual weight (never the ideal, adjusted or capped dosing weight)."""
from dataclasses import replace

import pytest

from services.documentation.domain.note_text import generate_note
from shared.errors import FhirMappingError
from services.documentation.translators.medication_administration_out import medication_administration_from_session
from services.documentation.translators.medication_request_in import ordered_infusion_from_medication_request
from services.orders.domain.dose import calculate_dose
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import WeightBasis
from services.orders.translators.medication_request_out import medication_request_from_order
from shared.fhir.codes import KETAMINE_100MG_PER_ML_INJECTION
from shared.fhir.datatypes import codeable_concept
from tests.unit.orders import builders as orders

from .builders import discharged, make_order, pre_checked


def _sent(protocol=None, calculation=None):
    """The MedicationRequest the orders service sends for a signed order (optionally with another calculation)."""
    result = orders.signed(protocol)
    order = result.order if calculation is None else replace(result.order, calculation=calculation)
    return medication_request_from_order(order, result.series)


def test_documentation_reads_the_product_strength_from_the_order_not_a_setting():
    protocol = orders.settings(stocked_products=("ketamine-10", "ketamine-100"), dosing_product="ketamine-100")
    read = ordered_infusion_from_medication_request(_sent(protocol))
    assert (read.product_strength_mg_per_ml, read.product_rxnorm_code) == (100.0, "238083")
    assert read.product_display == "ketamine 100 mg/mL injection"
    default = ordered_infusion_from_medication_request(_sent())
    assert (default.product_strength_mg_per_ml, default.product_rxnorm_code) == (10.0, None)


def test_the_administration_codes_the_orders_product():
    order = make_order(product_strength_mg_per_ml=100.0, product_display="ketamine 100 mg/mL injection",
                       product_rxnorm_code="238083")
    (medication,) = medication_administration_from_session(discharged(order), order)["contained"]
    assert medication["code"]["coding"][0]["code"] == "238083"
    assert medication["ingredient"][0]["strength"]["numerator"]["value"] == 100


def test_an_order_received_before_products_is_charted_by_ingredient_only():
    order = make_order(product_strength_mg_per_ml=None, product_display="")
    (medication,) = medication_administration_from_session(discharged(order), order)["contained"]
    assert medication["code"]["coding"][0]["code"] == "ketamine" and "ingredient" not in medication


def test_the_indication_reaches_the_note():
    read = ordered_infusion_from_medication_request(_sent())
    assert read.indication == "Treatment-resistant major depressive disorder"
    order = make_order(indication=read.indication)
    text = generate_note(discharged(order), order)
    assert "Indication: Treatment-resistant major depressive disorder" in text
    assert "Product: ketamine 10 mg/mL injection" in text


def test_the_actual_weight_travels_from_the_order():
    protocol = orders.settings(weight_basis=WeightBasis.IDEAL)
    calculation = calculate_dose(orders.weight(110.0), orders.height(170.0), Sex.MALE, protocol, now=orders.NOW)
    read = ordered_infusion_from_medication_request(_sent(calculation=calculation))
    assert read.actual_weight_kg == 110.0
    assert read.actual_weight_measured_at == orders.weight().measured_at
    assert read.dose_mg / read.dose_mg_per_kg < 70  # dosed on the ideal weight


def test_an_ideal_weight_order_is_not_held_for_a_weight_change_that_did_not_happen():
    # 0.5 mg/kg of a 66 kg ideal weight = 33 mg; the patient weighs 110 kg at order and today.
    order = make_order(dose_mg=33.0, actual_weight_kg=110.0)
    attempt = pre_checked(order, latest_weight_kg=110.0).latest_pre_check
    assert attempt.order_weight_kg == 110.0 and attempt.result.dose_recalculation is None


def test_a_real_change_of_the_actual_weight_is_still_reported():
    order = make_order(dose_mg=33.0, actual_weight_kg=110.0)
    recalculation = pre_checked(order, latest_weight_kg=120.0).latest_pre_check.result.dose_recalculation
    assert (recalculation.order_weight_kg, recalculation.latest_weight_kg) == (110.0, 120.0)


def test_the_carried_actual_weight_wins_over_the_ehr_observation_read_for_old_orders():
    order = make_order(dose_mg=33.0, actual_weight_kg=110.0)
    attempt = pre_checked(order, latest_weight_kg=110.0, order_weight_kg=66.0).latest_pre_check
    assert attempt.order_weight_kg == 110.0


def test_an_order_coded_100_mg_per_ml_whose_text_says_10_mg_per_ml_is_not_charted():
    """As every order was before products were coded: RxNorm 238083 with "Add 4.0 mL of ketamine 10 mg/mL"."""
    resource = _sent()
    del resource["medicationReference"]
    resource["contained"] = [r for r in resource["contained"] if r["resourceType"] != "Medication"]
    resource["medicationCodeableConcept"] = codeable_concept(KETAMINE_100MG_PER_ML_INJECTION)
    with pytest.raises(FhirMappingError) as caught:
        ordered_infusion_from_medication_request(resource)
    assert caught.value.field == "MedicationRequest.dosageInstruction[0].text"
    assert "names ketamine 10 mg/mL but the coded product is 100 mg/mL" in caught.value.message
