"""Suicidality alerts: from PHQ-9 item 9 and from a C-SSRS screener at or above the clinic's level, raised once per
measurement, open until the prescriber acknowledges them with the action taken."""
from datetime import timedelta

import pytest

from services.orders.course.domain.course import acknowledge_alert, record_cssrs, record_score
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening
from services.orders.course.domain.suicidality import AlertLevel, AlertSource
from shared.scales import CssrsRisk

from tests.unit.orders.course.builders import CLINICIAN, START, give, new_course, phq9, protocol, settings

NO = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}
AT = START + timedelta(days=10)


def screen(course_settings=None, measurement_id="cssrs-1", **answers):
    given = dict(NO)
    given.update({key.replace("_", "-"): value for key, value in answers.items()})
    return cssrs_screening(measurement_id, given, AT, ScoreSource.CLINICIAN, ScoreContext.PRE_INFUSION,
                           course_settings or settings(), recorded_by="Nurse Kim")


def test_a_positive_phq9_item_9_alerts_the_prescriber():
    course = record_score(new_course(), phq9("p1", 14, AT, item9=2), settings(), protocol())
    (alert,) = course.open_alerts
    assert (alert.alert_id, alert.source, alert.level, alert.raised_at) == (
        "p1-phq9-item9", AlertSource.PHQ9_ITEM9, AlertLevel.MODERATE, AT)
    assert "answered 2 (more than half the days)" in alert.detail


def test_item_9_of_zero_or_the_clinic_switching_it_off_raises_nothing():
    assert record_score(new_course(), phq9("p1", 14, AT), settings(), protocol()).alerts == ()
    off = settings(phq9_item9_alert=False)
    assert record_score(new_course(off), phq9("p1", 14, AT, item9=3), off, protocol()).alerts == ()


def test_a_redelivered_or_rescored_questionnaire_never_raises_the_alert_twice():
    course = record_score(new_course(), phq9("p1", 14, AT, item9=1), settings(), protocol())
    course = record_score(course, phq9("p1", 15, AT, item9=2), settings(), protocol())
    course = record_score(course, phq9("p1", 12, AT, item9=0), settings(), protocol())
    assert len(course.alerts) == 1 and course.alerts[0].is_open


@pytest.mark.parametrize("answers, risk, alerted", [
    ({}, CssrsRisk.NONE, False),
    ({"wish_to_be_dead": True}, CssrsRisk.LOW, False),
    ({"suicidal_thoughts": True, "ideation_with_method": True, "ideation_with_intent": False,
      "ideation_with_plan_and_intent": False}, CssrsRisk.MODERATE, True),
    ({"suicidal_behaviour_lifetime": True, "suicidal_behaviour_past_3_months": True}, CssrsRisk.HIGH, True),
])
def test_a_cssrs_screener_alerts_from_moderate_risk_by_default(answers, risk, alerted):
    screening = screen(**answers)
    assert screening.risk is risk
    course = record_cssrs(new_course(), screening, settings())
    assert bool(course.alerts) is alerted
    if alerted:
        assert course.alerts[0].level.value == risk.value
        assert course.alerts[0].detail.startswith(f"C-SSRS screener risk {risk.value}: endorsed")


def test_the_clinic_sets_the_alert_level():
    low = settings(suicidality_alert_min_cssrs_risk=CssrsRisk.LOW)
    assert record_cssrs(new_course(low), screen(low, wish_to_be_dead=True), low).alerts[0].level is AlertLevel.LOW
    high = settings(suicidality_alert_min_cssrs_risk=CssrsRisk.HIGH)
    moderate = screen(high, suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=False,
                      ideation_with_plan_and_intent=False)
    assert record_cssrs(new_course(high), moderate, high).alerts == ()


def test_the_screener_uses_the_clinics_risk_items():
    clinic = settings(cssrs_high_risk_items=("ideation-with-method", "ideation-with-intent",
                                             "ideation-with-plan-and-intent", "suicidal-behaviour-past-3-months"),
                      cssrs_moderate_risk_items=("suicidal-behaviour-lifetime",))
    assert screen(clinic, suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=False,
                  ideation_with_plan_and_intent=False).risk is CssrsRisk.HIGH


def test_screener_errors_name_the_item():
    with pytest.raises(CourseInputError) as error:
        screen(suicidal_thoughts=True, ideation_with_method=False)
    assert error.value.field == "cssrs.ideation-with-intent"


def test_a_rescreen_with_the_same_id_replaces_it_and_is_marked_rescored():
    course = record_cssrs(new_course(), screen(wish_to_be_dead=True), settings())
    course = record_cssrs(course, screen(suicidal_behaviour_lifetime=True, suicidal_behaviour_past_3_months=True),
                          settings())
    (screening,) = course.cssrs_screens
    assert screening.risk is CssrsRisk.HIGH and screening.rescored
    assert record_cssrs(course, screening, settings()) is course


def test_the_prescriber_acknowledges_with_the_action_once():
    course = record_cssrs(give(new_course(), [1]), screen(suicidal_behaviour_lifetime=True,
                                                          suicidal_behaviour_past_3_months=True), settings())
    alert_id = course.alerts[0].alert_id
    with pytest.raises(CourseInputError) as error:
        acknowledge_alert(course, alert_id, CLINICIAN, AT, " ")
    assert error.value.field == "action_taken"
    done = acknowledge_alert(course, alert_id, CLINICIAN, AT + timedelta(minutes=20), "called; safety plan reviewed")
    assert done.open_alerts == ()
    assert (done.alerts[0].acknowledged_by, done.alerts[0].action_taken) == (CLINICIAN, "called; safety plan reviewed")
    with pytest.raises(CourseStateError):
        acknowledge_alert(done, alert_id, CLINICIAN, AT, "again")
    with pytest.raises(CourseInputError) as error:
        acknowledge_alert(done, "nope", CLINICIAN, AT, "x")
    assert error.value.field == "alert_id"
