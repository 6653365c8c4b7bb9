"""Issue 13 defects 8 and 9: low-side vital signs, respiratory rate and the RASS hold the pre-check and alert on the
flowsheet, at the thresholds (just inside passes, just outside holds/alerts); BP at or above the alert thresholds
holds at once and its override needs the recheck first."""
import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import alert_crossings
from services.documentation.domain.pre_check import PreCheckOutcome
from services.documentation.domain.settings import SessionSettings

from .builders import (
    DOCTOR, NURSE, SETTINGS, at, confirmations, infusing, make_order, baseline, pre_checked, reading,
)


def test_the_reviewers_low_reading_82_48_hr_38_rr_6_holds_and_alerts():
    low = baseline("pre-1", at(9, 5), 82, 48, heart_rate=38, respiratory_rate_per_min=6)
    result = pre_checked(pre_reading=low).latest_pre_check.result
    assert result.outcome is PreCheckOutcome.HOLD
    assert result.vital_sign_holds == (
        "systolic 82 mmHg below 90 mmHg", "heart rate 38/min below 50/min", "respiratory rate 6/min below 10/min",
    )
    assert alert_crossings(reading("r", at(9, 40), 82, 48, heart_rate=38, respiratory_rate_per_min=6), SETTINGS) == (
        "systolic 82 mmHg < 90 mmHg", "heart rate 38/min < 50/min", "respiratory rate 6/min < 10/min",
    )


@pytest.mark.parametrize(
    "vitals, hold",
    [
        ({"systolic": 90, "diastolic": 50}, None),
        ({"systolic": 89, "diastolic": 50}, "systolic 89 mmHg below 90 mmHg"),
        ({"heart_rate": 50}, None),
        ({"heart_rate": 49}, "heart rate 49/min below 50/min"),
        ({"respiratory_rate_per_min": 10}, None),
        ({"respiratory_rate_per_min": 9}, "respiratory rate 9/min below 10/min"),
        ({"respiratory_rate_per_min": 24}, None),
        ({"respiratory_rate_per_min": 25}, "respiratory rate 25/min above 24/min"),
        ({"rass_score": -1}, None),
        ({"rass_score": -2}, "RASS -2 at or below -2 (sedated)"),
        ({"rass_score": 1}, None),
        ({"rass_score": 2}, "RASS +2 at or above +2 (agitated)"),
        ({"spo2": 94.0}, None),
        ({"spo2": 93.9}, "SpO2 93.9% below 94%"),
    ],
)
def test_pre_check_holds_just_outside_each_low_side_threshold_and_clears_just_inside(vitals, hold):
    result = pre_checked(pre_reading=baseline("pre-1", at(9, 5), **vitals)).latest_pre_check.result
    assert result.vital_sign_holds == ((hold,) if hold else ())
    assert result.outcome is (PreCheckOutcome.HOLD if hold else PreCheckOutcome.CLEARED)


@pytest.mark.parametrize(
    "vitals, crossing",
    [
        ({"systolic": 90, "diastolic": 50}, None),
        ({"systolic": 89, "diastolic": 50}, "systolic 89 mmHg < 90 mmHg"),
        ({"heart_rate": 50}, None),
        ({"heart_rate": 49}, "heart rate 49/min < 50/min"),
        ({"respiratory_rate_per_min": 10}, None),
        ({"respiratory_rate_per_min": 9}, "respiratory rate 9/min < 10/min"),
        ({"respiratory_rate_per_min": 24}, None),
        ({"respiratory_rate_per_min": 25}, "respiratory rate 25/min > 24/min"),
        ({"rass_score": -2}, None),
        ({"rass_score": -3}, "RASS -3 ≤ -3 (sedated)"),
        ({"rass_score": 1}, None),
        ({"rass_score": 2}, "RASS +2 ≥ +2 (agitated)"),
    ],
)
def test_flowsheet_alerts_just_outside_each_low_side_threshold_and_not_just_inside(vitals, crossing):
    assert alert_crossings(reading("r", at(9, 40), **vitals), SETTINGS) == ((crossing,) if crossing else ())


def test_a_sedated_reading_on_the_flowsheet_opens_an_alert():
    session = s.record_vitals(infusing(), reading("r-0925", at(9, 25), rass_score=-4, respiratory_rate_per_min=8),
                              SETTINGS)
    assert session.open_alerts[0].crossings == ("respiratory rate 8/min < 10/min", "RASS -4 ≤ -3 (sedated)")


def test_low_side_thresholds_are_settings():
    settings = SessionSettings(pre_check_heart_rate_hold_below_per_min=45, alert_heart_rate_below_per_min=40)
    assert pre_checked(pre_reading=baseline("pre-1", at(9, 5), heart_rate=46), settings=settings
                       ).latest_pre_check.result.outcome is PreCheckOutcome.CLEARED
    assert alert_crossings(reading("r", at(9, 40), heart_rate=40), settings) == ()


def test_rass_is_bounded_to_the_scale():
    with pytest.raises(DocumentationInputError, match="rass_score"):
        reading("r", at(9, 40), rass_score=5)
    with pytest.raises(DocumentationInputError, match="rass_score"):
        reading("r", at(9, 40), rass_score=-6)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"pre_check_systolic_hold_below_mmhg": 140}, "pre_check_systolic_hold_below_mmhg"),
        ({"alert_respiratory_rate_below_per_min": 30}, "alert_respiratory_rate_below_per_min"),
        ({"alert_rass_at_or_below": -6}, "RASS"),
        ({"plausible_spo2_min_percent": 100.0}, "plausible_spo2_min_percent"),
        ({"cssrs_high_risk_items": ("not-an-item",)}, "unknown items"),
        ({"site_readiness_items": ("a", "a")}, "repeated"),
    ],
)
def test_safety_settings_that_cannot_be_right_stop_start_up(changes, message):
    with pytest.raises(ValueError, match=message):
        SessionSettings(**changes).validate()


# --- defect 9 --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("systolic, diastolic", [(200, 120), (180, 100), (170, 110)])
def test_severe_first_bp_holds_at_once_and_cannot_be_overridden_before_a_recheck(systolic, diastolic):
    session = pre_checked(pre_reading=baseline("pre-1", at(9, 5), systolic, diastolic))
    result = session.latest_pre_check.result
    assert result.outcome is PreCheckOutcome.HOLD
    assert result.recheck_reasons == ()
    assert result.vital_sign_holds == (
        f"BP {systolic}/{diastolic} mmHg at or above 180/110 mmHg: infusion held; recheck at rest before any override",
    )
    with pytest.raises(TransitionNotAllowed, match="recheck at rest before an override"):
        s.override_pre_check_hold(session, "patient anxious", DOCTOR, at(9, 8))


def test_just_under_the_alert_thresholds_is_still_only_a_recheck():
    result = pre_checked(pre_reading=baseline("pre-1", at(9, 5), 179, 109)).latest_pre_check.result
    assert result.outcome is PreCheckOutcome.RECHECK_REQUIRED
    assert not result.severe_bp_unconfirmed


def test_severe_bp_on_the_recheck_holds_and_may_then_be_overridden():
    order = make_order()
    first = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), 200, 120))
    rechecked = s.record_pre_check(first, order, baseline("pre-2", at(9, 15), 186, 112), confirmations(), 80.0,
                                   SETTINGS, NURSE, at(9, 15))
    assert rechecked.latest_pre_check.result.vital_sign_holds == (
        "BP 186/112 mmHg at or above 180/110 mmHg on recheck at rest",
    )
    overridden = s.override_pre_check_hold(rechecked, "treated; prescriber at the chair", DOCTOR, at(9, 17))
    assert overridden.latest_pre_check.override.overridden_by == DOCTOR
