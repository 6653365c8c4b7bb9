from dataclasses import replace

import pytest

from shared.config import SettingsError, load_settings
from services.orders.domain.settings import BagVolumeRule, ProtocolSettings, WeightBasis, induction_span_days


def test_defaults_are_the_documented_protocol():
    protocol = ProtocolSettings()
    protocol.validate()
    assert (protocol.default_dose_mg_per_kg, protocol.min_dose_mg_per_kg, protocol.max_dose_mg_per_kg) == (
        0.5, 0.1, 1.0)
    assert (protocol.default_duration_min, protocol.min_duration_min, protocol.max_duration_min) == (40, 40, 60)
    assert protocol.weight_basis is WeightBasis.ACTUAL
    assert protocol.dose_cap_mg is None
    assert (protocol.stocked_products, protocol.dosing_product) == (("ketamine-10",), "ketamine-10")
    assert protocol.dosing.strength_mg_per_ml == 10.0 and protocol.dosing.rxnorm_code is None
    assert protocol.drug_concentration_mg_per_ml is None
    assert protocol.diluent_volume_ml == 100.0
    assert protocol.bag_volume_rule is BagVolumeRule.DILUENT_PLUS_DRUG
    assert (protocol.dose_rounding_mg, protocol.volume_rounding_ml, protocol.rate_rounding_ml_per_h) == (1, None, 0.1)
    assert protocol.volume_increment_ml(protocol.dosing) == 0.1
    assert protocol.drawn_dose_tolerance_percent == 5.0
    assert protocol.weight_max_age_days == 30
    assert (protocol.induction_infusion_count, protocol.induction_infusions_per_week) == (6, 2)
    assert (protocol.induction_min_infusions_per_week, protocol.induction_max_infusions_per_week) == (2, 3)
    assert protocol.induction_max_span_days == 21
    assert protocol.clinic_timezone == "UTC"


def test_loads_from_orders_environment_variables():
    protocol = load_settings(ProtocolSettings, "ORDERS_", {
        "ORDERS_DEFAULT_DOSE_MG_PER_KG": "0.75",
        "ORDERS_WEIGHT_BASIS": "Adjusted",
        "ORDERS_DOSE_CAP_MG": "100",
        "ORDERS_STOCKED_PRODUCTS": "ketamine-10, ketamine-50",
        "ORDERS_DOSING_PRODUCT": "ketamine-50",
        "ORDERS_BAG_VOLUME_RULE": "diluent-only",
        "ORDERS_INDUCTION_INFUSIONS_PER_WEEK": "3",
        "ORDERS_CLINIC_TIMEZONE": "America/New_York",
    })
    assert protocol.default_dose_mg_per_kg == 0.75
    assert protocol.weight_basis is WeightBasis.ADJUSTED
    assert protocol.dose_cap_mg == 100.0
    assert protocol.stocked_products == ("ketamine-10", "ketamine-50")
    assert protocol.dosing.strength_mg_per_ml == 50.0
    assert protocol.bag_volume_rule is BagVolumeRule.DILUENT_ONLY
    assert protocol.induction_infusions_per_week == 3
    assert str(protocol.zone) == "America/New_York"


def test_an_unknown_weight_basis_names_the_variable():
    with pytest.raises(SettingsError, match="ORDERS_WEIGHT_BASIS"):
        load_settings(ProtocolSettings, "ORDERS_", {"ORDERS_WEIGHT_BASIS": "lean"})


def test_an_inconsistent_setting_stops_loading_with_its_name():
    with pytest.raises(SettingsError, match="default_dose_mg_per_kg"):
        load_settings(ProtocolSettings, "ORDERS_", {"ORDERS_DEFAULT_DOSE_MG_PER_KG": "1.2"})


@pytest.mark.parametrize("overrides, message", [
    ({"min_dose_mg_per_kg": 0.0}, "min_dose_mg_per_kg"),
    ({"default_dose_mg_per_kg": 0.05}, "default_dose_mg_per_kg"),
    ({"override_max_dose_mg_per_kg": 0.9}, "override_max_dose_mg_per_kg"),
    ({"default_duration_min": 35}, "default_duration_min"),
    ({"min_duration_min": 0, "default_duration_min": 0}, "min_duration_min"),
    ({"adjusted_weight_factor": 0.0}, "adjusted_weight_factor"),
    ({"adjusted_weight_factor": 1.5}, "adjusted_weight_factor"),
    ({"drug_concentration_mg_per_ml": 50.0}, "replaced by dosing_product"),
    ({"stocked_products": ()}, "stocked_products"),
    ({"stocked_products": ("ketamine-25",)}, "not a ketamine product in the catalogue"),
    ({"stocked_products": ("ketamine-10", "ketamine-10")}, "twice"),
    ({"dosing_product": "ketamine-100"}, "must be one of stocked_products"),
    ({"drawn_dose_tolerance_percent": 0.0}, "drawn_dose_tolerance_percent"),
    ({"drawn_dose_tolerance_percent": 25.0}, "drawn_dose_tolerance_percent"),
    ({"diluent_volume_ml": -1.0}, "diluent_volume_ml"),
    ({"dose_rounding_mg": 0.0}, "dose_rounding_mg"),
    ({"volume_rounding_ml": 0.0}, "volume_rounding_ml"),
    ({"rate_rounding_ml_per_h": 0.0}, "rate_rounding_ml_per_h"),
    ({"diluent_name": " "}, "diluent_name"),
    ({"dose_cap_mg": 0.5}, "dose_cap_mg"),
    ({"weight_max_age_days": 0}, "weight_max_age_days"),
    ({"weight_plausible_range_kg": (400.0, 20.0)}, "weight_plausible_range_kg"),
    ({"weight_plausible_range_kg": (0.0, 400.0)}, "weight_plausible_range_kg"),
    ({"weight_plausible_range_kg": (20.0, float("inf"))}, "weight_plausible_range_kg"),
    ({"weight_plausible_range_kg": (20.0,)}, "weight_plausible_range_kg"),
    ({"induction_infusion_count": 9}, "induction_infusion_count"),
    ({"induction_infusions_per_week": 4}, "per week"),
    ({"induction_max_infusions_per_week": 8}, "per week"),
    ({"induction_max_span_days": 14}, "induction_max_span_days"),
    ({"reevaluation_days_after_induction": -1}, "reevaluation_days_after_induction"),
    ({"maintenance_min_interval_days": 100}, "maintenance"),
    ({"clinic_timezone": "Mars/Olympus_Mons"}, "clinic_timezone"),
    ({"clinic_timezone": ""}, "clinic_timezone"),
])
def test_validate_refuses_inconsistent_settings(overrides, message):
    with pytest.raises(ValueError, match=message):
        replace(ProtocolSettings(), **overrides).validate()


@pytest.mark.parametrize("name", ["override_max_dose_mg_per_kg", "max_dose_mg_per_kg", "dose_cap_mg",
                                  "diluent_volume_ml", "dose_rounding_mg", "volume_rounding_ml",
                                  "rate_rounding_ml_per_h", "adjusted_weight_factor"])
@pytest.mark.parametrize("value", ["inf", "nan"])
def test_an_infinite_or_nan_setting_stops_the_service(name, value):
    """'inf' parses as a float and passes every comparison: an infinite override maximum would remove the guard
    against a typed 5 mg/kg, an infinite rate increment sets the pump to 0 mL/h."""
    with pytest.raises(SettingsError, match=f"{name} must be a finite number|{name}"):
        load_settings(ProtocolSettings, "ORDERS_", {f"ORDERS_{name.upper()}": value})
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        replace(ProtocolSettings(), **{name: float(value)}).validate()


@pytest.mark.parametrize("count, per_week, days", [(6, 2, 21), (6, 3, 14), (8, 3, 18), (8, 2, 28), (1, 2, 3)])
def test_induction_span_days(count, per_week, days):
    assert induction_span_days(count, per_week) == days


def test_the_removed_drug_concentration_variable_still_set_stops_the_service():
    """A clinic that set ORDERS_DRUG_CONCENTRATION_MG_PER_ML=50 must not silently get 10 mg/mL (issue 13 defect 1)."""
    with pytest.raises(SettingsError, match="replaced by dosing_product"):
        load_settings(ProtocolSettings, "ORDERS_", {"ORDERS_DRUG_CONCENTRATION_MG_PER_ML": "50"})


def test_the_dosing_product_must_be_stocked():
    with pytest.raises(SettingsError, match="must be one of stocked_products"):
        load_settings(ProtocolSettings, "ORDERS_", {"ORDERS_STOCKED_PRODUCTS": "ketamine-50"})
