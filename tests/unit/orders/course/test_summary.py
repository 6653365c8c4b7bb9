"""The clinician's one-page summary and its due actions; the chart drawn from it."""
import xml.dom.minidom
from datetime import date, timedelta

from services.orders.course.presenters import score_chart_svg
from services.orders.course.domain.course import record_adverse_event, record_cssrs, record_score, start_maintenance
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.domain.model import AdverseEventSeverity, CourseAdverseEvent, CourseStatus
from services.orders.course.domain.outcomes import GoalAchievement, ResponseStatus
from services.orders.course.domain.psychotherapy import refer, schedule_session
from services.orders.course.domain.summary import DueKind, course_summary, due_actions
from services.orders.course.domain.therapy import TherapyKind
from shared.scales import CssrsRisk, Scale

from tests.unit.orders.course.builders import CLINICIAN, START, give, infusion_time, new_course, phq9, protocol, \
    settings

DAY = timedelta(days=1)


def responder():
    course = give(new_course(), range(1, 7), phq9_totals={1: 22, 2: 19, 3: 15, 4: 12, 5: 10, 6: 9})
    event = CourseAdverseEvent("ae-1", "session-2", "nausea", AdverseEventSeverity.MILD, infusion_time(2))
    return record_adverse_event(course, event)


def test_the_summary_has_the_infusions_scores_outcome_and_events():
    course = responder()
    gad7 = scale_score("gad-1", Scale.GAD7, [2] * 7, START - DAY, ScoreSource.PATIENT_LINK, ScoreContext.BASELINE)
    course = record_score(course, gad7, settings(), protocol())
    summary = course_summary(course, infusion_time(6) + DAY, settings(), protocol())
    assert summary.status is CourseStatus.RESPONSE_CHECK
    assert [(i.number, i.dose_mg, i.dose_mg_per_kg) for i in summary.infusions][:2] == [(1, 40.0, 0.5), (2, 40.0, 0.5)]
    assert summary.infusions[1].adverse_events == ("nausea",) and summary.total_dose_mg == 240.0
    assert summary.outcome.response is ResponseStatus.RESPONSE
    phq9_series, gad7_series = summary.series
    assert [p.total for p in phq9_series.points] == [22, 19, 15, 12, 10, 9]
    assert phq9_series.response_level == 11.0 and phq9_series.remission_rule.text == "PHQ-9 < 5"
    assert gad7_series.scale is Scale.GAD7 and summary.other_outcomes[0].scale is Scale.GAD7
    assert summary.goal_achievement is GoalAchievement.IMPROVING


def test_every_score_on_the_page_carries_its_severity_band():
    course = responder()
    gad7 = scale_score("gad-1", Scale.GAD7, [2] * 7, START - DAY, ScoreSource.PATIENT_LINK, ScoreContext.BASELINE)
    course = record_score(course, gad7, settings(), protocol())
    summary = course_summary(course, infusion_time(6) + DAY, settings(), protocol())
    phq9_series, gad7_series = summary.series
    assert [(p.total, p.severity) for p in phq9_series.points] == [
        (22, "severe"), (19, "moderately severe"), (15, "moderately severe"), (12, "moderate"), (10, "moderate"),
        (9, "mild")]
    assert (summary.outcome.last.severity, summary.outcome.best.severity) == ("mild", "mild")
    assert [(p.total, p.severity) for p in gad7_series.points] == [(14, "moderate")]
    assert summary.adverse_events[0].kind == "nausea"
    assert summary.to_dict()["outcome"]["response"] == "response"


def test_due_actions_in_induction():
    course = give(new_course(), [1, 2], phq9_totals={1: 20})
    course = record_cssrs(course, cssrs_screening(
        "c1", {"wish-to-be-dead": False, "suicidal-thoughts": True, "ideation-with-method": True,
               "ideation-with-intent": True, "ideation-with-plan-and-intent": False,
               "suicidal-behaviour-lifetime": False}, infusion_time(2) + DAY, ScoreSource.PATIENT_LINK,
        ScoreContext.FOLLOW_UP, settings()), settings())
    due = due_actions(course, infusion_time(2) + 2 * DAY, settings(), protocol())
    kinds = [a.kind for a in due]
    assert kinds[0] is DueKind.SUICIDALITY_ALERT and "high" in due[0].text
    assert DueKind.GOAL in kinds
    next_infusion = next(a for a in due if a.kind is DueKind.NEXT_INFUSION)
    assert next_infusion.text == "Induction infusion 3 of 6" and next_infusion.due_on is None
    scale_due = next(a for a in due if a.kind is DueKind.PRE_INFUSION_SCALE)
    assert scale_due.text == "PHQ-9 before the next infusion"
    assert course_summary(course, infusion_time(2) + DAY, settings(), protocol()).latest_cssrs_risk is CssrsRisk.HIGH


def test_a_non_responder_shows_the_reevaluation_task_first():
    course = give(new_course(), range(1, 7), phq9_totals={1: 20, 6: 16})
    due = due_actions(course, infusion_time(6) + 10 * DAY, settings(), protocol())
    assert due[0].kind is DueKind.REEVALUATION and due[0].overdue
    assert due[0].due_on == date(2026, 12, 17)


def test_maintenance_shows_the_next_infusion_and_the_reevaluation_date():
    decided = infusion_time(6) + 7 * DAY
    course = start_maintenance(responder(), 28, CLINICIAN, decided, settings(), protocol())
    due = {a.kind: a for a in due_actions(course, decided, settings(), protocol())}
    assert due[DueKind.NEXT_INFUSION].due_on == infusion_time(6).date() + timedelta(days=28)
    assert due[DueKind.REEVALUATION].due_on == decided.date() + timedelta(days=90)
    assert due[DueKind.PRE_INFUSION_SCALE].due_on == due[DueKind.NEXT_INFUSION].due_on


def test_integration_sessions_to_book_while_their_window_is_open():
    course = refer(give(new_course(), [1, 2]), "ref-1", TherapyKind.INTEGRATION, CLINICIAN, START, "integration")
    course = schedule_session(course, "ts-1", "ref-1", infusion_time(1) + timedelta(hours=30), settings(),
                              after_infusion_number=1)
    due = [a for a in due_actions(course, infusion_time(2), settings(), protocol())
           if a.kind is DueKind.INTEGRATION_SESSION]
    assert len(due) == 1 and "after infusion 2" in due[0].text
    assert due[0].due_on == (infusion_time(2) + timedelta(hours=72)).date()
    later = due_actions(course, infusion_time(2) + 5 * DAY, settings(), protocol())
    assert not any(a.kind is DueKind.INTEGRATION_SESSION for a in later)


def test_the_chart_is_accessible_svg_with_the_scores_in_words():
    summary = course_summary(responder(), infusion_time(6) + DAY, settings(), protocol())
    svg = score_chart_svg(summary.series[0], summary.infusions)
    xml.dom.minidom.parseString(svg)
    assert 'role="img"' in svg and "<title id=\"chart-title\">PHQ-9 over the course</title>" in svg
    assert "PHQ-9 scores: 2026-11-23 22, 2026-11-26 19" in svg
    assert "Remission is PHQ-9 &lt; 5." in svg and svg.count("<circle") == 6
    empty = course_summary(new_course(), START, settings(), protocol())
    assert "No PHQ-9 yet" in score_chart_svg(empty.series[0], ())


def test_the_response_level_with_a_baseline_of_zero_is_absent():
    course = record_score(new_course(), phq9("b", 0, START - DAY, ScoreContext.BASELINE), settings(), protocol())
    assert course_summary(course, START, settings(), protocol()).series[0].response_level is None
