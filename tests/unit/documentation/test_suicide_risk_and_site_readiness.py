"""Issue 13 defect 5 (the day's C-SSRS and open suicidality alerts before the infusion, the safety plan at
discharge) and the site-readiness checklist."""
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.discharge import DischargeAssessment, evaluate_discharge
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.pre_check import PreCheckOutcome
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import (
    AlertLevel,
    ReviewDecision,
    SuicidalityAlertSeen,
    SuicideRiskReview,
    day_risk_above_low,
)
from services.documentation.translators import codes as documentation_codes
from services.documentation.translators.detected_issue_suicidality_in import alert_from_detected_issue
from services.orders.course.domain.suicidality import AlertSource, SuicidalityAlert
from services.orders.course.domain.suicidality import AlertLevel as CourseAlertLevel
from services.orders.course.domain.suicidality import acknowledged as course_acknowledged
from services.orders.course.translators import codes as course_codes
from services.orders.course.translators.detected_issue_suicidality_out import detected_issue_from_alert
from shared.scales import CssrsRisk

from .builders import DOCTOR, NURSE, SETTINGS, at, cssrs, make_order, pre_checked, baseline, site_ready


def open_alert(level: AlertLevel = AlertLevel.HIGH, alert_id: str = "m-7-cssrs") -> SuicidalityAlertSeen:
    return SuicidalityAlertSeen(alert_id, "pat-42", level, at(8, 0, day=1), "C-SSRS screener risk high: endorsed ...")


def review(decision: ReviewDecision = ReviewDecision.PROCEED, moment=None) -> SuicideRiskReview:
    return SuicideRiskReview(DOCTOR, moment or at(9, 8), decision, "Assessed at the chair; safety plan reviewed")


def start(session, alerts=(), settings=SETTINGS):
    return s.start_infusion(session, make_order(), NURSE, at(9, 10), settings, alerts)


# --- the day's C-SSRS ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "yes, risk",
    [
        ({}, CssrsRisk.NONE),
        ({"wish_to_be_dead": True}, CssrsRisk.LOW),
        ({"suicidal_thoughts": True}, CssrsRisk.LOW),
        ({"suicidal_thoughts": True, "ideation_with_method": True}, CssrsRisk.MODERATE),
        ({"suicidal_thoughts": True, "ideation_with_intent": True}, CssrsRisk.HIGH),
        ({"suicidal_thoughts": True, "ideation_with_plan_and_intent": True}, CssrsRisk.HIGH),
        ({"suicidal_behaviour_lifetime": True}, CssrsRisk.MODERATE),
        ({"suicidal_behaviour_lifetime": True, "suicidal_behaviour_past_3_months": True}, CssrsRisk.HIGH),
    ],
)
def test_the_days_cssrs_is_triaged_as_columbia(yes, risk):
    assert cssrs(**yes).risk is risk


def test_the_skip_logic_is_checked_naming_the_item():
    with pytest.raises(DocumentationInputError, match="cssrs.ideation_with_method"):
        cssrs(ideation_with_method=True)


def test_infusion_does_not_start_without_the_days_cssrs():
    session = pre_checked(cssrs=None)
    with pytest.raises(TransitionNotAllowed, match="C-SSRS screener not done today"):
        start(session)
    assert start(session, settings=SessionSettings(pre_check_cssrs_required=False)).status is s.SessionStatus.INFUSING


def test_a_high_risk_cssrs_holds_until_a_clinician_reviews_it_and_decides_to_proceed():
    session = pre_checked(cssrs=cssrs(suicidal_thoughts=True, ideation_with_intent=True))
    with pytest.raises(TransitionNotAllowed, match="C-SSRS screener high risk today") as refused:
        start(session)
    assert "ideation-with-intent" in refused.value.reason
    reviewed = s.review_suicide_risk(session, (), review(), SETTINGS)
    recorded = reviewed.suicide_risk_reviews[-1]
    assert (recorded.reviewed_by, recorded.decision, recorded.screening_risk) == (
        DOCTOR, ReviewDecision.PROCEED, CssrsRisk.HIGH)
    assert start(reviewed).status is s.SessionStatus.INFUSING


def test_a_later_screener_answered_no_does_not_undo_a_high_risk_one_without_review():
    order = make_order()
    high = pre_checked(order, cssrs=cssrs(suicidal_thoughts=True, ideation_with_intent=True))
    again = s.record_pre_check(high, order, baseline("pre-2", at(9, 9)), high.latest_pre_check.confirmations, 80.0,
                               SETTINGS, NURSE, at(9, 9), cssrs=cssrs(moment=at(9, 9), screening_id="cssrs-2"))
    assert again.latest_cssrs.risk is CssrsRisk.NONE
    with pytest.raises(TransitionNotAllowed, match="C-SSRS screener high risk today"):
        start(again)


def test_a_review_does_not_clear_a_high_risk_screener_recorded_after_it_even_timed_before_it():
    """Times are typed: a recheck timed 09:07 but recorded after a review timed 09:09 was taken as reviewed."""
    order = make_order()
    moderate = pre_checked(order, cssrs=cssrs(suicidal_thoughts=True, ideation_with_method=True))
    reviewed = s.review_suicide_risk(moderate, (), review(moment=at(9, 9)), SETTINGS)
    again = s.record_pre_check(reviewed, order, baseline("pre-2", at(9, 7)), reviewed.latest_pre_check.confirmations,
                               80.0, SETTINGS, NURSE, at(9, 7),
                               cssrs=cssrs(moment=at(9, 7), screening_id="cssrs-2", suicidal_thoughts=True,
                                           ideation_with_intent=True))
    with pytest.raises(TransitionNotAllowed, match="C-SSRS screener high risk today"):
        start(again)
    assert start(s.review_suicide_risk(again, (), review(moment=at(9, 9)), SETTINGS)).status is s.SessionStatus.INFUSING


def test_a_review_deciding_not_to_proceed_keeps_the_infusion_from_starting():
    session = pre_checked(cssrs=cssrs(suicidal_thoughts=True, ideation_with_plan_and_intent=True))
    reviewed = s.review_suicide_risk(session, (), review(ReviewDecision.DO_NOT_PROCEED), SETTINGS)
    with pytest.raises(TransitionNotAllowed, match="do not proceed"):
        start(reviewed)


def test_moderate_risk_starts_without_review_but_needs_a_safety_plan_at_discharge():
    session = pre_checked(cssrs=cssrs(suicidal_thoughts=True, ideation_with_method=True))
    assert start(session).status is s.SessionStatus.INFUSING
    assert s.review_suicide_risk(session, (), review(), SETTINGS).suicide_risk_reviews  # may be documented
    assert day_risk_above_low(session.cssrs_screens, ())
    with pytest.raises(TransitionNotAllowed, match="nothing to review"):
        s.review_suicide_risk(pre_checked(cssrs=cssrs(wish_to_be_dead=True)), (), review(), SETTINGS)


# --- open suicidality alerts from the course -------------------------------------------------------------------
def test_an_open_suicidality_alert_holds_until_reviewed_even_with_a_negative_cssrs():
    session = pre_checked()
    with pytest.raises(TransitionNotAllowed, match="open suicidality alert m-7-cssrs"):
        start(session, (open_alert(),))
    reviewed = s.review_suicide_risk(session, (open_alert(),), review(), SETTINGS)
    assert reviewed.suicide_risk_reviews[-1].alerts == (open_alert(),)
    assert start(reviewed, (open_alert(),)).status is s.SessionStatus.INFUSING
    with pytest.raises(TransitionNotAllowed, match="open suicidality alert m-8-phq9"):
        start(reviewed, (open_alert(), open_alert(AlertLevel.MODERATE, "m-8-phq9-item9")))


def test_an_alert_reviewed_makes_the_days_risk_above_low_unless_it_was_low():
    assert day_risk_above_low((), (replace(review(), alerts=(open_alert(AlertLevel.MODERATE),)),))
    assert not day_risk_above_low((), (replace(review(), alerts=(open_alert(AlertLevel.LOW),)),))
    assert not day_risk_above_low((cssrs(wish_to_be_dead=True),), ())


def test_the_course_detected_issue_is_read_open_then_acknowledged():
    alert = SuicidalityAlert("m-7-cssrs", "m-7", AlertSource.CSSRS, CourseAlertLevel.HIGH,
                             datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc), "C-SSRS screener risk high")
    seen = alert_from_detected_issue(detected_issue_from_alert(alert, "pat-42", "course-1"))
    assert (seen.alert_id, seen.patient_id, seen.level, seen.is_open) == ("m-7-cssrs", "pat-42", AlertLevel.HIGH, True)
    closed = course_acknowledged(alert, DOCTOR, datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc), "called; safe")
    assert not alert_from_detected_issue(detected_issue_from_alert(closed, "pat-42", "course-1")).is_open


def test_documentation_reads_the_course_alert_codes_the_course_writes():
    assert documentation_codes.KIND_SUICIDALITY_ALERT == course_codes.KIND_SUICIDALITY_ALERT
    assert documentation_codes.SUICIDALITY_RISK == course_codes.SUICIDALITY_RISK
    assert documentation_codes.PRESCRIBER_REVIEWED == course_codes.PRESCRIBER_REVIEWED


# --- safety plan at discharge ----------------------------------------------------------------------------------
def discharge_assessment(**changes) -> DischargeAssessment:
    return replace(DischargeAssessment(True, True, NURSE, at(10, 25)), **changes)


def test_a_safety_plan_is_a_discharge_criterion_only_when_the_days_risk_was_above_low():
    def criterion(above_low, **changes):
        criteria = evaluate_discharge(discharge_assessment(**changes), at(9, 50), None, (), at(10, 25), SETTINGS,
                                      suicide_risk_above_low=above_low)
        return next((c for c in criteria if c.name == "safety-plan"), None)

    assert criterion(False) is None
    missing = criterion(True)
    assert (missing.met, missing.overridable) == (False, False)
    assert criterion(True, safety_plan_confirmed=True).met


def test_discharge_after_moderate_risk_is_refused_without_the_safety_plan_even_with_an_override():
    from .builders import recovering

    session = replace(recovering(), cssrs_screens=(cssrs(suicidal_thoughts=True, ideation_with_method=True),))
    with pytest.raises(TransitionNotAllowed) as refused:
        s.discharge(session, discharge_assessment(), SETTINGS, NURSE, at(10, 25), override_reason="family waiting")
    assert any(reason.startswith("safety-plan: suicide risk above low today") for reason in refused.value.failing)


# --- site readiness --------------------------------------------------------------------------------------------
def test_every_checklist_item_confirmed_clears_and_is_kept_with_who_and_when():
    attempt = pre_checked().latest_pre_check
    assert attempt.result.outcome is PreCheckOutcome.CLEARED
    assert [i.item for i in attempt.site_readiness.items] == list(SETTINGS.site_readiness_items)
    assert (attempt.site_readiness.confirmed_by, attempt.site_readiness.confirmed_at) == (NURSE, at(9, 4))


@pytest.mark.parametrize("item", SETTINGS.site_readiness_items)
def test_an_item_not_confirmed_holds_and_cannot_be_overridden(item):
    session = pre_checked(site_readiness=site_ready(**{item.replace("-", "_"): False}))
    result = session.latest_pre_check.result
    assert result.outcome is PreCheckOutcome.HOLD
    assert len(result.confirmation_holds) == 1 and result.confirmation_holds[0].startswith("site not ready")
    with pytest.raises(TransitionNotAllowed):
        s.override_pre_check_hold(session, "we will manage", DOCTOR, at(9, 8))
    with pytest.raises(TransitionNotAllowed, match="site not ready"):
        start(session)


def test_no_checklist_holds_and_a_recheck_keeps_the_checklist_already_confirmed():
    assert pre_checked(site_readiness=None).latest_pre_check.result.confirmation_holds == (
        "site readiness checklist not confirmed",)
    order = make_order()
    first = pre_checked(order, pre_reading=baseline("pre-1", at(9, 5), 150, 95))
    again = s.record_pre_check(first, order, baseline("pre-2", at(9, 15)), first.latest_pre_check.confirmations,
                               80.0, SETTINGS, NURSE, at(9, 15))
    assert again.latest_pre_check.result.outcome is PreCheckOutcome.CLEARED


def test_checklist_answers_must_be_the_clinics_items():
    from services.documentation.domain.site_readiness import site_readiness

    with pytest.raises(DocumentationInputError, match="site_readiness.monitoring-ready"):
        site_readiness({}, SETTINGS, NURSE, at(9, 4))
    answers = {item: True for item in SETTINGS.site_readiness_items} | {"crash-cart": True}
    with pytest.raises(DocumentationInputError, match="site_readiness.crash-cart"):
        site_readiness(answers, SETTINGS, NURSE, at(9, 4))


def test_the_note_states_the_days_screener_the_review_and_the_site_readiness():
    from services.documentation.domain.note_text import generate_note

    session = s.review_suicide_risk(pre_checked(cssrs=cssrs(suicidal_thoughts=True, ideation_with_intent=True)),
                                    (open_alert(),), review(), SETTINGS)
    text = generate_note(session, make_order())
    assert "C-SSRS screener at" in text and "risk high (yes to: suicidal-thoughts, ideation-with-intent)" in text
    assert f"Suicide-risk review by {DOCTOR}" in text and "proceed — Assessed at the chair" in text
    assert "open suicidality alerts reviewed: m-7-cssrs (high)" in text
    assert "Site readiness at" in text and "airway equipment and suction checked confirmed" in text


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda r: r.pop("identifier"), "DetectedIssue.identifier"),
        (lambda r: r.update(severity="extreme"), "DetectedIssue.severity"),
        (lambda r: r.update(identifiedDateTime="2026-03-01"), "DetectedIssue.identifiedDateTime"),
        (lambda r: r.update(patient={"display": "no reference"}), "DetectedIssue.patient"),
    ],
)
def test_a_detected_issue_that_cannot_be_read_is_refused_naming_the_element(change, field):
    from services.documentation.domain.errors import DocumentationInputError as MappingError

    alert = SuicidalityAlert("m-7-cssrs", "m-7", AlertSource.CSSRS, CourseAlertLevel.HIGH,
                             datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc), "C-SSRS screener risk high")
    resource = detected_issue_from_alert(alert, "pat-42", "course-1")
    change(resource)
    with pytest.raises((MappingError, ValueError)) as refused:
        alert_from_detected_issue(resource)
    assert field in str(refused.value)
