import json
from datetime import timedelta

import pytest

from services.orders.domain.dose import DoseCalculation, DoseOverride, calculate_dose
from services.orders.domain.errors import OrdersInputError, StaleWeightError
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import BagVolumeRule, WeightBasis
from tests.unit.orders.builders import NOW, height, settings, weight
from tests.unit.orders.builders import PRESCRIBER
from shared.people import Person

OVERRIDE = DoseOverride("partial response at 1.0 mg/kg after 4 infusions", PRESCRIBER, NOW)


def test_worked_example_80_kg_actual_weight():
    calc = calculate_dose(weight(80), None, None, settings(), now=NOW)
    assert (calc.mg_per_kg, calc.duration_min, calc.dosing_weight_kg) == (0.5, 40, 80)
    assert calc.dose_mg == 40
    assert calc.drug_volume_ml == 4.0  # 40 mg at 10 mg/mL
    assert calc.bag_volume_ml == 104.0  # 100 mL diluent + 4 mL drug
    assert calc.rate_ml_per_h == 156.0  # 104 mL over 40 min
    assert calc.weight_basis_used is WeightBasis.ACTUAL and not calc.cap_applied
    assert calc.weight.observation_id == "weight-1"
    assert calc.calculated_at == NOW


def test_the_prescriber_text_shows_every_number_and_its_origin():
    text = calculate_dose(weight(80), None, None, settings(), now=NOW).text
    assert "Ketamine 40 mg IV over 40 min" in text
    assert "0.5 mg/kg × 80.0 kg actual body weight (weighed 2026-11-18)" in text
    assert "Add 4.0 mL of ketamine 10 mg/mL to 100.0 mL 0.9% sodium chloride: 104.0 mL at 156.0 mL/h." in text
    assert "dose to 1 mg, volume to 0.1 mL, rate to 0.1 mL/h" in text


def test_50_mg_per_ml_vials_change_volume_and_rate():
    protocol = settings(stocked_products=("ketamine-50",), dosing_product="ketamine-50")
    calc = calculate_dose(weight(80), None, None, protocol, now=NOW)
    assert (calc.dose_mg, calc.drug_volume_ml, calc.bag_volume_ml, calc.rate_ml_per_h) == (40, 0.8, 100.8, 151.2)
    assert (calc.concentration_mg_per_ml, calc.drug_product.product_id, calc.volume_rounding_ml) == (
        50.0, "ketamine-50", 0.02)


def test_sixty_minute_infusion_halves_nothing_but_the_rate():
    calc = calculate_dose(weight(80), None, None, settings(), duration_min=60, now=NOW)
    assert (calc.dose_mg, calc.bag_volume_ml, calc.rate_ml_per_h) == (40, 104.0, 104.0)


def test_diluent_only_rule_keeps_the_bag_at_the_diluent_volume():
    calc = calculate_dose(weight(80), None, None, settings(bag_volume_rule=BagVolumeRule.DILUENT_ONLY), now=NOW)
    assert (calc.drug_volume_ml, calc.bag_volume_ml, calc.rate_ml_per_h) == (4.0, 100.0, 150.0)
    assert "Withdraw 4.0 mL from a 100.0 mL bag" in calc.text


def test_rounding_is_half_up_at_every_step():
    # 81 kg × 0.5 = 40.5 mg → 41 mg (Python's round would give 40); 4.1 mL; 104.1 mL × 60/40 = 156.15 → 156.2 mL/h
    calc = calculate_dose(weight(81), None, None, settings(), now=NOW)
    assert calc.unrounded_dose_mg == 40.5
    assert (calc.dose_mg, calc.drug_volume_ml, calc.bag_volume_ml, calc.rate_ml_per_h) == (41, 4.1, 104.1, 156.2)


def test_coarser_clinic_rounding():
    protocol = settings(dose_rounding_mg=5, volume_rounding_ml=0.5, rate_rounding_ml_per_h=1)
    calc = calculate_dose(weight(73), None, None, protocol, now=NOW)  # 36.5 mg
    assert (calc.dose_mg, calc.drug_volume_ml, calc.rate_ml_per_h) == (35, 3.5, 155)  # 103.5 mL → 155.25 → 155
    assert "Ketamine 35 mg" in calc.text and "at 155 mL/h" in calc.text


def test_a_pump_rate_that_rounds_to_0_ml_per_h_is_refused():
    with pytest.raises(OrdersInputError) as error:
        calculate_dose(weight(80), None, None, settings(rate_rounding_ml_per_h=1000.0), now=NOW)  # 156 mL/h → 0
    assert error.value.field == "rate_ml_per_h" and "0 mL/h" in error.value.message


def test_dose_cap_limits_a_heavy_patient_and_is_recorded():
    calc = calculate_dose(weight(230), None, None, settings(dose_cap_mg=100), now=NOW)
    assert calc.unrounded_dose_mg == 115
    assert (calc.dose_mg, calc.cap_applied, calc.dose_cap_mg) == (100, True, 100)
    assert (calc.drug_volume_ml, calc.rate_ml_per_h) == (10.0, 165.0)
    assert "Capped at the clinic's dose cap: 100 mg." in calc.text


def test_dose_cap_not_reached_is_not_applied():
    calc = calculate_dose(weight(80), None, None, settings(dose_cap_mg=100), now=NOW)
    assert (calc.dose_mg, calc.cap_applied) == (40, False)
    assert "Capped" not in calc.text


def test_a_cap_between_increments_is_rounded_down_never_exceeded():
    calc = calculate_dose(weight(230), None, None, settings(dose_cap_mg=99.5), now=NOW)
    assert (calc.dose_mg, calc.cap_applied) == (99, True)


def test_no_weight_is_refused():
    with pytest.raises(StaleWeightError) as caught:
        calculate_dose(None, None, None, settings(), now=NOW)
    assert caught.value.field == "weight"


def test_weight_older_than_the_window_is_refused():
    with pytest.raises(StaleWeightError) as caught:
        calculate_dose(weight(days_ago=30.5), None, None, settings(), now=NOW)
    assert caught.value.field == "weight.measured_at"
    assert "older than 30 days" in caught.value.message


def test_weight_exactly_at_the_window_edge_is_accepted():
    assert calculate_dose(weight(days_ago=30), None, None, settings(), now=NOW).dose_mg == 40


def test_weight_window_is_a_clinic_setting():
    with pytest.raises(StaleWeightError):
        calculate_dose(weight(days_ago=8), None, None, settings(weight_max_age_days=7), now=NOW)


def test_weight_dated_in_the_future_is_refused():
    with pytest.raises(StaleWeightError, match="future"):
        calculate_dose(weight(days_ago=-1), None, None, settings(), now=NOW)


@pytest.mark.parametrize("kg", [800.0, 1e9, float("inf"), 19.9, 400.1])
def test_an_implausible_weight_is_refused_before_it_multiplies_the_dose(kg):
    """0.5 mg/kg × 800 kg (80 typed with an extra 0) would be 400 mg; an infinite weight crashed the rounding."""
    with pytest.raises(StaleWeightError) as caught:
        calculate_dose(weight(kg), None, None, settings(), now=NOW)
    assert caught.value.field == "weight.value_kg" and "plausible 20-400 kg" in caught.value.message


@pytest.mark.parametrize("kg, mg", [(20.0, 10), (400.0, 200)])
def test_a_weight_at_the_plausible_edges_is_dosed(kg, mg):
    assert calculate_dose(weight(kg), None, None, settings(), now=NOW).dose_mg == mg


def test_below_the_clinic_minimum_is_refused():
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(), None, None, settings(), mg_per_kg=0.05, now=NOW)
    assert caught.value.field == "mg_per_kg" and "minimum of 0.1" in caught.value.message


def test_above_the_clinic_maximum_needs_an_override():
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(), None, None, settings(), mg_per_kg=1.2, now=NOW)
    assert caught.value.field == "mg_per_kg" and "override" in caught.value.message


def test_above_the_maximum_with_a_documented_override_is_calculated_and_recorded():
    calc = calculate_dose(weight(80), None, None, settings(), override=OVERRIDE, mg_per_kg=1.2, now=NOW)
    assert (calc.dose_mg, calc.override) == (96, OVERRIDE)
    assert "Above the clinic maximum of 1 mg/kg by override of Dr Ada Prescriber" in calc.text


def test_a_clinic_with_a_lower_maximum_needs_the_override_sooner():
    with pytest.raises(OrdersInputError, match="maximum of 0.75"):
        calculate_dose(weight(), None, None, settings(max_dose_mg_per_kg=0.75), mg_per_kg=0.8, now=NOW)


def test_even_an_override_cannot_exceed_the_hard_ceiling():
    with pytest.raises(OrdersInputError, match="even with an override"):
        calculate_dose(weight(), None, None, settings(), override=OVERRIDE, mg_per_kg=1.6, now=NOW)


def test_an_override_for_a_dose_within_range_is_not_recorded():
    calc = calculate_dose(weight(), None, None, settings(), override=OVERRIDE, mg_per_kg=0.8, now=NOW)
    assert calc.override is None and calc.dose_mg == 64


@pytest.mark.parametrize("reason, by, field", [("", Person("Practitioner/dr-a", "Dr A"), "override.reason"), ("why", " ", "override.authorised_by")])
def test_an_override_must_say_why_and_who(reason, by, field):
    with pytest.raises(OrdersInputError) as caught:
        DoseOverride(reason, by, NOW)
    assert caught.value.field == field


@pytest.mark.parametrize("duration_min, message", [(35, "outside"), (61, "outside"), (45.5, "whole minutes")])
def test_duration_outside_the_clinic_range_is_refused(duration_min, message):
    with pytest.raises(OrdersInputError, match=message) as caught:
        calculate_dose(weight(), None, None, settings(), duration_min=duration_min, now=NOW)
    assert caught.value.field == "duration_min"


def test_every_broken_rule_is_reported_at_once():
    with pytest.raises(StaleWeightError) as caught:
        calculate_dose(weight(days_ago=45), None, None, settings(), mg_per_kg=2.0, duration_min=90, now=NOW)
    assert [v.field for v in caught.value.violations] == ["weight.measured_at", "mg_per_kg", "duration_min"]


def test_ideal_body_weight_basis():
    # 177.8 cm (70 in) man weighing 95 kg: IBW 73.0 kg → 36.5 mg → 37 mg
    protocol = settings(weight_basis=WeightBasis.IDEAL)
    calc = calculate_dose(weight(95), height(177.8), Sex.MALE, protocol, now=NOW)
    assert calc.dosing_weight_kg == pytest.approx(73.0) and calc.ideal_weight_kg == pytest.approx(73.0)
    assert (calc.dose_mg, calc.drug_volume_ml, calc.rate_ml_per_h) == (37, 3.7, 155.6)
    assert (calc.height.value_cm, calc.sex, calc.weight.value_kg) == (177.8, Sex.MALE, 95)
    assert "73.0 kg ideal body weight (Devine) (actual 95.0 kg weighed 2026-11-18; height 177.8 cm, male" in calc.text


def test_adjusted_body_weight_basis():
    # 120 kg, IBW 73.0 kg → ABW 73 + 0.4 × 47 = 91.8 kg → 45.9 mg → 46 mg
    protocol = settings(weight_basis=WeightBasis.ADJUSTED)
    calc = calculate_dose(weight(120), height(177.8), Sex.MALE, protocol, now=NOW)
    assert calc.dosing_weight_kg == pytest.approx(91.8)
    assert calc.dose_mg == 46 and calc.weight_basis_used is WeightBasis.ADJUSTED


def test_ideal_basis_for_a_patient_below_ibw_falls_back_to_actual_weight():
    protocol = settings(weight_basis=WeightBasis.IDEAL)
    calc = calculate_dose(weight(50), height(165.1), Sex.FEMALE, protocol, now=NOW)
    assert (calc.dose_mg, calc.weight_basis_requested, calc.weight_basis_used) == (25, WeightBasis.IDEAL,
                                                                                   WeightBasis.ACTUAL)
    assert "so the actual weight is used." in calc.text


def test_ideal_basis_without_sex_or_height_is_refused():
    protocol = settings(weight_basis=WeightBasis.IDEAL)
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(), None, Sex.UNKNOWN, protocol, now=NOW)
    assert [v.field for v in caught.value.violations] == ["height", "sex"]


def test_actual_basis_does_not_store_height_or_sex():
    calc = calculate_dose(weight(), height(), Sex.FEMALE, settings(), now=NOW)
    assert calc.height is None and calc.sex is None and calc.ideal_weight_kg is None


def test_a_drug_volume_that_rounds_to_zero_is_refused():
    # 0.1 mg/kg × 40 kg = 4 mg of 100 mg/mL = 0.04 mL → 0.0 mL at 0.1 mL
    protocol = settings(stocked_products=("ketamine-100",), dosing_product="ketamine-100", volume_rounding_ml=0.1)
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(40), None, None, protocol, mg_per_kg=0.1, now=NOW)
    assert caught.value.field == "drug_volume_ml"


def test_a_drug_volume_larger_than_the_bag_is_refused_when_withdrawn_from_it():
    protocol = settings(bag_volume_rule=BagVolumeRule.DILUENT_ONLY, diluent_volume_ml=10)
    with pytest.raises(OrdersInputError, match="does not fit"):
        calculate_dose(weight(120), None, None, protocol, mg_per_kg=1.0, now=NOW)


def test_now_must_carry_a_timezone():
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(), None, None, settings(), now=NOW.replace(tzinfo=None))
    assert caught.value.field == "now"


def test_calculated_at_is_kept_to_the_second():
    calc = calculate_dose(weight(), None, None, settings(), now=NOW + timedelta(microseconds=250))
    assert calc.calculated_at == NOW


@pytest.mark.parametrize("basis, kg", [(WeightBasis.ACTUAL, 80), (WeightBasis.ADJUSTED, 120)])
def test_calculation_round_trips_through_a_json_document(basis, kg):
    calc = calculate_dose(weight(kg), height(), Sex.MALE, settings(weight_basis=basis, dose_cap_mg=200),
                          override=OVERRIDE, mg_per_kg=1.1, now=NOW)
    stored = json.loads(json.dumps(calc.to_dict()))
    assert stored["calculated_at"] == "2026-11-20T09:00:00+00:00"
    assert stored["text"] == calc.text
    assert DoseCalculation.from_dict(stored) == calc


# The coded product and the volume come from one product (issue 13 defect 1).

def test_the_text_the_volume_and_the_stored_product_name_the_same_strength():
    calc = calculate_dose(weight(92), None, None, settings(), now=NOW)
    assert calc.drug_product.strength_mg_per_ml == calc.concentration_mg_per_ml == 10.0
    assert (calc.dose_mg, calc.drug_volume_ml, calc.drawn_mg) == (46, 4.6, 46.0)
    assert "Add 4.6 mL of ketamine 10 mg/mL" in calc.text
    assert DoseCalculation.from_dict(json.loads(json.dumps(calc.to_dict()))) == calc


def test_a_calculation_stored_before_products_reads_its_product_from_its_concentration():
    stored = calculate_dose(weight(92), None, None, settings(), now=NOW).to_dict()
    del stored["product"], stored["drawn_dose_mg"]
    legacy = DoseCalculation.from_dict(stored)
    assert legacy.drug_product.strength_mg_per_ml == 10.0 and legacy.drug_product.rxnorm_code is None
    assert legacy.drawn_mg == 46.0


# The dose the rounded volume delivers is re-checked (issue 13 defect 2).

def _at_100_in_tenths(**overrides):
    return settings(stocked_products=("ketamine-100",), dosing_product="ketamine-100", volume_rounding_ml=0.1,
                    **overrides)


def test_a_volume_rounded_up_beyond_the_tolerance_is_refused_naming_the_drawn_dose():
    # 0.5 mg/kg × 50 kg = 25 mg of 100 mg/mL = 0.25 mL → 0.3 mL = 30 mg (+20%)
    with pytest.raises(OrdersInputError) as caught:
        calculate_dose(weight(50), None, None, _at_100_in_tenths(), now=NOW)
    assert caught.value.field == "drug_volume_ml"
    assert "0.3 mL of ketamine 100 mg/mL injection holds 30 mg, not the 25 mg ordered (+20.0%" in caught.value.message


def test_a_small_dose_on_the_low_side_is_refused_at_a_coarse_increment():
    # 0.1 mg/kg × 50 kg = 5 mg of 100 mg/mL = 0.05 mL → 0.1 mL = 10 mg (+100%)
    with pytest.raises(OrdersInputError, match=r"holds 10 mg, not the 5 mg ordered \(\+100.0%"):
        calculate_dose(weight(50), None, None, _at_100_in_tenths(), mg_per_kg=0.1, now=NOW)


def test_a_volume_rounded_down_beyond_the_tolerance_is_refused():
    # 0.5 mg/kg × 68 kg = 34 mg → 0.34 mL → 0.3 mL = 30 mg (-11.8%)
    with pytest.raises(OrdersInputError, match=r"holds 30 mg, not the 34 mg ordered \(-11.8%"):
        calculate_dose(weight(68), None, None, _at_100_in_tenths(), now=NOW)


def test_a_drawn_dose_within_the_tolerance_is_accepted_and_stated():
    # 0.5 mg/kg × 122 kg = 61 mg → 0.61 mL → 0.6 mL = 60 mg (-1.6%)
    calc = calculate_dose(weight(122), None, None, _at_100_in_tenths(), now=NOW)
    assert (calc.dose_mg, calc.drug_volume_ml, calc.drawn_mg) == (61, 0.6, 60.0)
    assert "0.6 mL of 100 mg/mL holds 60 mg." in calc.text


def test_the_products_own_increment_measures_small_doses_exactly():
    # 5 mg at 100 mg/mL in the product's 0.01 mL steps: 0.05 mL = 5 mg
    protocol = settings(stocked_products=("ketamine-100",), dosing_product="ketamine-100")
    calc = calculate_dose(weight(50), None, None, protocol, mg_per_kg=0.1, now=NOW)
    assert (calc.dose_mg, calc.drug_volume_ml, calc.drawn_mg, calc.volume_rounding_ml) == (5, 0.05, 5.0, 0.01)
