"""Suicidality alerts: from PHQ-9 item 9 and from a C-SSRS screener at or above the clinic's level, raised once per
measurement, open until the prescriber acknowledges them with the action taken."""
from datetime import timedelta

import pytest

from services.orders.course.domain.course import acknowledge_alert, record_cssrs, record_score
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.domain.suicidality import AlertLevel, AlertSource
from shared.scales import CssrsRisk, Scale

from tests.unit.orders.course.builders import CLINICIAN, START, give, new_course, phq9, protocol, settings
from tests.unit.orders.builders import PRESCRIBER
from shared.people import Person

NO = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}
AT = START + timedelta(days=10)


def screen(course_settings=None, measurement_id="cssrs-1", **answers):
    given = dict(NO)
    given.update({key.replace("_", "-"): value for key, value in answers.items()})
    return cssrs_screening(measurement_id, given, AT, ScoreSource.CLINICIAN, ScoreContext.PRE_INFUSION,
                           course_settings or settings(), recorded_by=Person("Practitioner/nurse-kim", "Nurse Kim"))


def test_a_positive_phq9_item_9_alerts_the_prescriber():
    course = record_score(new_course(), phq9("p1", 14, AT, item9=2), settings(), protocol())
    (alert,) = course.open_alerts
    assert (alert.alert_id, alert.source, alert.level, alert.raised_at) == (
        "p1-phq9-item9", AlertSource.PHQ9_ITEM9, AlertLevel.MODERATE, AT)
    assert "answered 2 (more than half the days)" in alert.detail


def test_item_9_of_zero_raises_nothing():
    assert record_score(new_course(), phq9("p1", 14, AT), settings(), protocol()).alerts == ()


def test_the_clinic_cannot_switch_the_phq9_item_9_alert_off():
    """Every scale's suicide item alerts (issue 13, defect 3); the clinic sets the threshold, not whether."""
    with pytest.raises(ValueError, match="phq9_item9_alert cannot be switched off"):
        settings(phq9_item9_alert=False).validate()


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


# --- every scale's suicide item (issue 13 defect 3) ------------------------------------------------------------
def madrs(measurement_id: str, item10: int, at=AT):
    return scale_score(measurement_id, Scale.MADRS, [3, 3, 2, 2, 1, 2, 2, 2, 2, item10], at, ScoreSource.CLINICIAN,
                       ScoreContext.FOLLOW_UP, recorded_by=PRESCRIBER)


def qids(measurement_id: str, item12: int, at=AT):
    items = [1] * 16
    items[11] = item12
    return scale_score(measurement_id, Scale.QIDS_SR16, items, at, ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP)


@pytest.mark.parametrize("item10, level", [(6, AlertLevel.HIGH), (5, AlertLevel.MODERATE), (4, AlertLevel.MODERATE),
                                           (3, None), (0, None)])
def test_madrs_item_10_alerts_from_4_and_is_high_at_6(item10, level):
    course = record_score(new_course(), madrs("m1", item10), settings(), protocol())
    if level is None:
        assert course.alerts == ()
        return
    (alert,) = course.open_alerts
    assert (alert.alert_id, alert.source, alert.level) == ("m1-madrs-item10", AlertSource.MADRS_ITEM10, level)
    assert alert.detail.startswith(f"MADRS item 10 (suicidal thoughts) scored {item10} of 6 (alert from 4)")


@pytest.mark.parametrize("item12, level", [(3, AlertLevel.HIGH), (2, AlertLevel.MODERATE), (1, None), (0, None)])
def test_qids_sr16_item_12_alerts_from_2_and_is_high_at_3(item12, level):
    course = record_score(new_course(), qids("q1", item12), settings(), protocol())
    if level is None:
        assert course.alerts == ()
        return
    (alert,) = course.open_alerts
    assert (alert.alert_id, alert.source, alert.level) == ("q1-qids-sr16-item12", AlertSource.QIDS_SR16_ITEM12,
                                                           level)
    assert alert.detail.startswith(f"QIDS-SR16 item 12 (thoughts of death or suicide) scored {item12} of 3")


@pytest.mark.parametrize("item9, alerted", [(1, True), (0, False)])
def test_phq9_item_9_alerts_from_1_as_before(item9, alerted):
    course = record_score(new_course(), phq9("p1", 14, AT, item9=item9), settings(), protocol())
    assert bool(course.alerts) is alerted


def test_the_clinic_sets_each_suicide_item_threshold():
    clinic = settings(madrs_item10_alert_min_score=2, madrs_item10_high_alert_min_score=4,
                      qids_sr16_item12_alert_min_score=1, phq9_item9_alert_min_score=2)
    assert record_score(new_course(clinic), madrs("m1", 2), clinic, protocol()).alerts[0].level is AlertLevel.MODERATE
    assert record_score(new_course(clinic), madrs("m1", 4), clinic, protocol()).alerts[0].level is AlertLevel.HIGH
    assert record_score(new_course(clinic), qids("q1", 1), clinic, protocol()).alerts != ()
    assert record_score(new_course(clinic), phq9("p1", 14, AT, item9=1), clinic, protocol()).alerts == ()
    assert record_score(new_course(clinic), phq9("p1", 14, AT, item9=2), clinic, protocol()).alerts != ()


def test_gad7_has_no_suicide_item_and_never_alerts():
    score = scale_score("g1", Scale.GAD7, [3] * 7, AT, ScoreSource.PATIENT_LINK, ScoreContext.FOLLOW_UP)
    assert record_score(new_course(), score, settings(), protocol()).alerts == ()


def test_a_rescored_madrs_never_raises_its_alert_twice():
    course = record_score(new_course(), madrs("m1", 4), settings(), protocol())
    course = record_score(course, madrs("m1", 5), settings(), protocol())
    course = record_score(course, madrs("m1", 4), settings(), protocol())
    assert len(course.alerts) == 1


def test_a_rescoring_that_reaches_a_higher_level_raises_a_new_alert_even_after_the_first_was_acknowledged():
    course = record_score(new_course(), madrs("m1", 4), settings(), protocol())
    course = acknowledge_alert(course, "m1-madrs-item10", CLINICIAN, AT, "called; reviewed")
    course = record_score(course, madrs("m1", 6), settings(), protocol())
    (escalated,) = course.open_alerts
    assert (escalated.alert_id, escalated.level) == ("m1-madrs-item10-high", AlertLevel.HIGH)
    assert "scored 6 of 6" in escalated.detail
    again = record_score(course, madrs("m1", 5), settings(), protocol())
    assert record_score(again, madrs("m1", 6), settings(), protocol()).alerts == course.alerts


def test_a_rescreen_from_moderate_to_high_raises_a_high_alert():
    moderate = {"suicidal_thoughts": True, "ideation_with_method": True, "ideation_with_intent": False,
                "ideation_with_plan_and_intent": False}
    course = record_cssrs(new_course(), screen(**moderate), settings())
    assert [a.level for a in course.alerts] == [AlertLevel.MODERATE]
    course = record_cssrs(course, screen(suicidal_behaviour_lifetime=True, suicidal_behaviour_past_3_months=True),
                          settings())
    assert [(a.alert_id, a.level) for a in course.open_alerts] == [
        ("cssrs-1-cssrs", AlertLevel.MODERATE), ("cssrs-1-cssrs-high", AlertLevel.HIGH)]


@pytest.mark.parametrize("name, value", [
    ("madrs_item10_alert_min_score", 0), ("madrs_item10_alert_min_score", 7),
    ("qids_sr16_item12_alert_min_score", 0), ("qids_sr16_item12_alert_min_score", 4),
    ("phq9_item9_alert_min_score", 0), ("phq9_item9_alert_min_score", 4),
    ("madrs_item10_high_alert_min_score", 3), ("qids_sr16_item12_high_alert_min_score", 4),
])
def test_suicide_item_thresholds_outside_the_item_range_stop_the_service(name, value):
    with pytest.raises(ValueError, match=name):
        settings(**{name: value})
