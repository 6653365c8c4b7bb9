from datetime import timedelta

import pytest

from services.orders.domain.body_weight import (
    adjusted_body_weight_kg, body_size_violations, dosing_weight, ideal_body_weight_kg,
)
from services.orders.domain.errors import OrdersInputError
from services.orders.domain.measurements import BodyHeight, BodyWeight, Sex, most_recent
from services.orders.domain.settings import WeightBasis
from shared.units import cm_to_inches, inches_to_cm, pounds_to_kg
from tests.unit.orders.builders import NOW, height, weight


def test_pounds_and_inches_convert_by_their_exact_definitions():
    assert pounds_to_kg(176) == pytest.approx(79.832257, abs=1e-6)
    assert pounds_to_kg(1) == 0.45359237
    assert inches_to_cm(70) == pytest.approx(177.8)
    assert cm_to_inches(152.4) == pytest.approx(60.0)


@pytest.mark.parametrize("height_in, sex, ibw_kg", [
    (70, Sex.MALE, 73.0),      # 50 + 2.3 × 10
    (65, Sex.FEMALE, 57.0),    # 45.5 + 2.3 × 5
    (60, Sex.MALE, 50.0),      # exactly 5 ft: the base weight
    (60, Sex.FEMALE, 45.5),
    (58, Sex.FEMALE, 40.9),    # under 5 ft: 2.3 kg per inch subtracted, not clamped at 45.5
    (56, Sex.MALE, 40.8),      # 50 − 2.3 × 4
])
def test_devine_ideal_body_weight(height_in, sex, ibw_kg):
    assert ideal_body_weight_kg(inches_to_cm(height_in), sex) == pytest.approx(ibw_kg)


@pytest.mark.parametrize("sex", [Sex.OTHER, Sex.UNKNOWN])
def test_devine_needs_male_or_female(sex):
    with pytest.raises(ValueError, match="male or female"):
        ideal_body_weight_kg(170, sex)


def test_adjusted_body_weight_adds_forty_percent_of_the_excess():
    assert adjusted_body_weight_kg(actual_kg=120, ideal_kg=73, factor=0.4) == pytest.approx(91.8)


def test_actual_basis_uses_the_actual_weight_without_height():
    chosen = dosing_weight(95, WeightBasis.ACTUAL, None, None, 0.4)
    assert (chosen.weight_kg, chosen.basis_used, chosen.ideal_kg, chosen.note) == (95, WeightBasis.ACTUAL, None, None)


def test_ideal_basis_for_a_heavier_patient_uses_ibw():
    chosen = dosing_weight(95, WeightBasis.IDEAL, height(177.8), Sex.MALE, 0.4)
    assert chosen.weight_kg == pytest.approx(73.0)
    assert chosen.basis_used is WeightBasis.IDEAL
    assert chosen.adjusted_kg == pytest.approx(73 + 0.4 * 22)


def test_adjusted_basis_for_a_heavier_patient_uses_abw():
    chosen = dosing_weight(120, WeightBasis.ADJUSTED, height(177.8), Sex.MALE, 0.4)
    assert chosen.weight_kg == pytest.approx(91.8)
    assert chosen.basis_used is WeightBasis.ADJUSTED


@pytest.mark.parametrize("basis", [WeightBasis.IDEAL, WeightBasis.ADJUSTED])
def test_actual_weight_below_ibw_is_used_instead_and_the_reason_recorded(basis):
    # 165.1 cm (65 in) woman: IBW 57.0 kg; she weighs 50 kg, so dosing on IBW would over-dose her.
    chosen = dosing_weight(50, basis, height(165.1), Sex.FEMALE, 0.4)
    assert chosen.weight_kg == 50
    assert chosen.basis_requested is basis
    assert chosen.basis_used is WeightBasis.ACTUAL
    assert "below ideal body weight 57.0 kg" in chosen.note


def test_ideal_or_adjusted_without_usable_height_or_sex_is_refused_by_field():
    assert body_size_violations(WeightBasis.ACTUAL, None, None) == []
    fields = [v.field for v in body_size_violations(WeightBasis.IDEAL, None, Sex.UNKNOWN)]
    assert fields == ["height", "sex"]
    assert [v.field for v in body_size_violations(WeightBasis.ADJUSTED, height(), None)] == ["sex"]


def test_a_height_too_short_for_devine_is_refused():
    # 100 cm = 39.4 in: 45.5 − 2.3 × 20.6 < 0 kg
    violations = body_size_violations(WeightBasis.IDEAL, height(100), Sex.FEMALE)
    assert [v.field for v in violations] == ["height.value_cm"]


def test_most_recent_weight_is_the_latest_measured():
    old, new = weight(90, days_ago=20), weight(80, days_ago=1)
    assert most_recent([new, old]) is new
    assert most_recent([]) is None


@pytest.mark.parametrize("build, field", [
    (lambda: BodyWeight(0, NOW), "weight.value_kg"),
    (lambda: BodyWeight(80, NOW.replace(tzinfo=None)), "weight.measured_at"),
    (lambda: BodyHeight(-1, NOW), "height.value_cm"),
    (lambda: BodyHeight(170, NOW.replace(tzinfo=None)), "height.measured_at"),
])
def test_measurements_refuse_impossible_values_and_naive_times(build, field):
    with pytest.raises(OrdersInputError) as caught:
        build()
    assert caught.value.field == field


def test_measurements_round_trip_through_dicts():
    measured = weight(79.5, days_ago=3)
    assert BodyWeight.from_dict(measured.to_dict()) == measured
    tall = BodyHeight(180.0, NOW - timedelta(days=1), None)
    assert BodyHeight.from_dict(tall.to_dict()) == tall
