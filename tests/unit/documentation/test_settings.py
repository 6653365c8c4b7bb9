import pytest

from services.documentation.domain.settings import SessionSettings
from shared.config import SettingsError, load_settings


def test_defaults_are_the_documented_clinic_values():
    settings = SessionSettings()
    assert (settings.pre_check_systolic_hold_above_mmhg, settings.pre_check_diastolic_hold_above_mmhg) == (140, 90)
    assert settings.pre_check_heart_rate_hold_above_per_min == 110
    assert settings.pre_check_spo2_hold_below_percent == 94
    assert settings.weight_change_tolerance_percent == 5
    assert settings.infusion_vitals_interval_min == settings.recovery_vitals_interval_min == 15
    assert (settings.alert_systolic_at_or_above_mmhg, settings.alert_diastolic_at_or_above_mmhg) == (180, 110)
    assert settings.alert_heart_rate_at_or_above_per_min == 130
    assert settings.alert_spo2_below_percent == 92
    assert settings.cadss_minutes_after_start == (40,) and settings.cadss_at_end_of_recovery
    assert settings.min_recovery_observation_min == 30
    assert settings.discharge_systolic_margin_mmhg == settings.discharge_heart_rate_margin_per_min == 20
    assert settings.aldrete_required and settings.aldrete_min_score == 9
    settings.validate()


def test_loads_from_documentation_prefixed_environment():
    settings = load_settings(
        SessionSettings,
        "DOCUMENTATION_",
        {
            "DOCUMENTATION_CADSS_MINUTES_AFTER_START": "20, 40",
            "DOCUMENTATION_ALDRETE_REQUIRED": "false",
            "DOCUMENTATION_MIN_RECOVERY_OBSERVATION_MIN": "60",
            "DOCUMENTATION_PRE_CHECK_SPO2_HOLD_BELOW_PERCENT": "95.5",
        },
    )
    assert settings.cadss_minutes_after_start == (20, 40)
    assert settings.aldrete_required is False
    assert settings.min_recovery_observation_min == 60
    assert settings.pre_check_spo2_hold_below_percent == 95.5


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("DOCUMENTATION_VITALS_GRACE_MIN", "8", "vitals_grace_min"),
        ("DOCUMENTATION_ALERT_SPO2_BELOW_PERCENT", "192", "percentage"),
        ("DOCUMENTATION_WEIGHT_CHANGE_TOLERANCE_PERCENT", "0", "weight_change_tolerance_percent must be positive"),
        ("DOCUMENTATION_ALDRETE_MIN_SCORE", "11", "aldrete_min_score"),
        ("DOCUMENTATION_CADSS_MINUTES_AFTER_START", "40,40", "repeated"),
        ("DOCUMENTATION_CADSS_MINUTES_AFTER_START", "-5", "positive"),
    ],
)
def test_invalid_settings_stop_start_up_naming_the_setting(variable, value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(SessionSettings, "DOCUMENTATION_", {variable: value})


def test_grace_must_stay_under_half_the_shortest_interval():
    SessionSettings(recovery_vitals_interval_min=11, vitals_grace_min=5).validate()
    with pytest.raises(ValueError, match="half the shortest"):
        SessionSettings(recovery_vitals_interval_min=10, vitals_grace_min=5).validate()


@pytest.mark.parametrize("variable", ["DOCUMENTATION_ALERT_SPO2_BELOW_PERCENT",
                                      "DOCUMENTATION_CONTROLLED_SUBSTANCE_TOLERANCE_MG",
                                      "DOCUMENTATION_PRE_CHECK_SPO2_HOLD_BELOW_PERCENT"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_setting_that_is_not_a_finite_number_stops_start_up(variable, value):
    """NaN compares false with everything: an SpO2 alert below NaN never fired and a controlled-substance tolerance
    of NaN accepted a record with any amount unaccounted for."""
    with pytest.raises(SettingsError, match="finite number"):
        load_settings(SessionSettings, "DOCUMENTATION_", {variable: value})


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DOCUMENTATION_ALERT_SYSTOLIC_AT_OR_ABOVE_MMHG", "400"),  # above the plausible 300: never alerts
        ("DOCUMENTATION_PRE_CHECK_SPO2_HOLD_BELOW_PERCENT", "40"),  # below the plausible 50: never holds
        ("DOCUMENTATION_ALERT_RESPIRATORY_RATE_BELOW_PER_MIN", "2"),  # at the plausible minimum: never alerts
        ("DOCUMENTATION_PRE_CHECK_HEART_RATE_HOLD_ABOVE_PER_MIN", "250"),  # a heart rate above 250 is refused
    ],
)
def test_a_hold_or_alert_threshold_outside_the_plausible_range_stops_start_up(variable, value):
    with pytest.raises(SettingsError, match="plausible range"):
        load_settings(SessionSettings, "DOCUMENTATION_", {variable: value})


def test_the_administered_dose_tolerance_stops_at_25_percent():
    """At 100% a dose of nothing, or twice the bag, passed without a reason."""
    load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_ADMINISTERED_DOSE_TOLERANCE_PERCENT": "25"})
    with pytest.raises(SettingsError, match="administered_dose_tolerance_percent above 25"):
        load_settings(SessionSettings, "DOCUMENTATION_", {"DOCUMENTATION_ADMINISTERED_DOSE_TOLERANCE_PERCENT": "100"})


@pytest.mark.parametrize("value", ["0", "501", "-3", "many"])
def test_the_consumer_batch_size_is_checked_at_start_up_on_both_sides(value):
    from services.documentation.bootstrap import WorkerSettings

    assert WorkerSettings().consumer_batch_records == 16
    assert load_settings(WorkerSettings, "DOCUMENTATION_", {"DOCUMENTATION_CONSUMER_BATCH_RECORDS": "1"}
                         ).consumer_batch_records == 1
    with pytest.raises(SettingsError, match="CONSUMER_BATCH_RECORDS|consumer_batch_records"):
        load_settings(WorkerSettings, "DOCUMENTATION_", {"DOCUMENTATION_CONSUMER_BATCH_RECORDS": value})
