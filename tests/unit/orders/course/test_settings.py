import pytest

from services.orders.course.domain.rules import Comparison, RelapseRule, RemissionRule
from services.orders.course.domain.settings import CourseSettings, refuse_renamed
from shared.config import SettingsError, load_settings
from shared.scales import CssrsRisk, Scale

from tests.unit.orders.course.builders import protocol


def test_defaults_are_the_documented_rules():
    course = CourseSettings()
    course.validate()
    course.validate_with(protocol())
    assert course.primary_scale is Scale.PHQ9
    assert course.response_rule().min_drop_pct == 50.0
    assert course.remission_rule(Scale.PHQ9) == RemissionRule(Scale.PHQ9, Comparison.BELOW, 5.0)
    assert course.remission_rule(Scale.MADRS) == RemissionRule(Scale.MADRS, Comparison.AT_MOST, 10.0)
    assert course.remission_rule(Scale.QIDS_SR16) == RemissionRule(Scale.QIDS_SR16, Comparison.AT_MOST, 5.0)
    assert course.remission_rule(Scale.GAD7) is None
    assert (course.loss_of_response_drop_below_pct, course.loss_of_response_consecutive_scores) == (50.0, 2)
    assert course.relapse_rule(Scale.MADRS) == RelapseRule(Scale.MADRS, 22.0, 2, True)
    assert course.relapse_rule(Scale.PHQ9) == RelapseRule(Scale.PHQ9, None, 2, True)  # events only
    assert CourseSettings(relapse_on_clinical_events=False).relapse_rule(Scale.PHQ9) is None
    assert (course.madrs_item10_alert_min_score, course.qids_sr16_item12_alert_min_score,
            course.phq9_item9_alert_min_score) == (4, 2, 1)
    assert course.induction_extension_max_infusions == 12
    assert course.maintenance_reevaluation_days == 90
    assert course.pre_infusion_scales == (Scale.PHQ9,) and not course.cssrs_before_infusion
    assert course.suicidality_alert_min_cssrs_risk is CssrsRisk.MODERATE and course.phq9_item9_alert
    assert (course.integration_window_start_hours, course.integration_window_end_hours) == (24, 72)
    assert (course.export_age_band_years, course.export_top_age_band_years) == (10, 90)


def test_a_clinic_chooses_madrs_at_most_12_and_more_from_the_environment():
    course = load_settings(CourseSettings, "ORDERS_COURSE_", {
        "ORDERS_COURSE_MADRS_REMISSION_SCORE": "12",
        "ORDERS_COURSE_PRIMARY_SCALE": "MADRS",
        "ORDERS_COURSE_GAD7_REMISSION_SCORE": "5",
        "ORDERS_COURSE_QIDS_SR16_REMISSION_SCORE": "none",
        "ORDERS_COURSE_PRE_INFUSION_INSTRUMENTS": "phq-9, cssrs",
        "ORDERS_COURSE_SUICIDALITY_ALERT_MIN_CSSRS_RISK": "High",
        "ORDERS_COURSE_INTEGRATION_WINDOW_END_HOURS": "48",
    })
    assert course.remission_rule(Scale.MADRS).text == "MADRS ≤ 12"
    assert course.primary_scale is Scale.MADRS
    assert course.remission_rule(Scale.GAD7).text == "GAD-7 < 5"
    assert course.remission_rule(Scale.QIDS_SR16) is None
    assert course.cssrs_before_infusion and course.pre_infusion_scales == (Scale.PHQ9,)
    assert course.suicidality_alert_min_cssrs_risk is CssrsRisk.HIGH
    assert course.integration_window_end_hours == 48


@pytest.mark.parametrize("variable, value, message", [
    ("RESPONSE_MIN_DROP_PCT", "0", "response_min_drop_pct"),
    ("RESPONSE_MIN_DROP_PCT", "150", "response_min_drop_pct"),
    ("PHQ9_REMISSION_SCORE", "30", "phq9_remission_score must be empty or above 0 and at most 27"),
    ("MADRS_REMISSION_COMPARISON", "under", "expected one of below, at-most"),
    ("LOSS_OF_RESPONSE_CONSECUTIVE_SCORES", "0", "loss_of_response_consecutive_scores"),
    ("LOSS_OF_RESPONSE_DROP_BELOW_PCT", "0", "loss_of_response_drop_below_pct"),
    ("MADRS_RELAPSE_SCORE", "10", "madrs_relapse_score must be above madrs_remission_score"),
    ("MADRS_RELAPSE_SCORE", "61", "madrs_relapse_score must be empty or above 0 and at most 60"),
    ("RELAPSE_CONSECUTIVE_ASSESSMENTS", "0", "relapse_consecutive_assessments"),
    ("MADRS_ITEM10_ALERT_MIN_SCORE", "0", "madrs_item10_alert_min_score"),
    ("QIDS_SR16_ITEM12_ALERT_MIN_SCORE", "4", "qids_sr16_item12_alert_min_score"),
    ("PRE_INFUSION_INSTRUMENTS", "phq-9,beck", r"unknown instruments \['beck'\]"),
    ("CSSRS_HIGH_RISK_ITEMS", "feels-sad", "unknown items"),
    ("SUICIDALITY_ALERT_MIN_CSSRS_RISK", "none", "low, moderate or high"),
    ("INTEGRATION_WINDOW_START_HOURS", "72", "integration window"),
    ("EXPORT_TOP_AGE_BAND_YEARS", "95", "ages over 89"),
])
def test_a_bad_setting_stops_start_up_naming_it(variable, value, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(CourseSettings, "ORDERS_COURSE_", {f"ORDERS_COURSE_{variable}": value})


@pytest.mark.parametrize("old", ["RELAPSE_DROP_BELOW_PCT", "RELAPSE_CONSECUTIVE_SCORES"])
def test_a_loss_of_response_setting_under_its_old_relapse_name_is_refused_not_ignored(old):
    with pytest.raises(ValueError, match=f"ORDERS_COURSE_{old} was renamed ORDERS_COURSE_LOSS_OF_RESPONSE_"):
        refuse_renamed({f"ORDERS_COURSE_{old}": "3"}, "ORDERS_COURSE_")
    refuse_renamed({"ORDERS_COURSE_LOSS_OF_RESPONSE_CONSECUTIVE_SCORES": "3"}, "ORDERS_COURSE_")


def test_an_extension_limit_below_the_default_induction_is_refused_against_the_protocol():
    with pytest.raises(ValueError, match="induction_extension_max_infusions"):
        CourseSettings(induction_extension_max_infusions=4).validate_with(protocol())
