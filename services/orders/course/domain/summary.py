"""The clinician's one-page course summary: infusions given with their doses, scores over time (the chart's data),
response/remission status by the clinic's rules, adverse events, psychotherapy sessions, the history of decisions
and the next due actions. Built from the course alone, as of ``now``; the UI renders it (``course/presenters.py`` draws
the score chart)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.orders.course.domain.goals import GoalStatus, OutcomeGoal
from services.orders.course.domain.model import (
    CourseAdverseEvent,
    CourseStatus,
    CourseTransition,
    TransitionKind,
    TreatmentCourse,
)
from services.orders.course.domain.outcomes import (
    GoalAchievement,
    ScaleOutcome,
    ScorePoint,
    course_outcome,
    goal_achievement,
    score_points,
)
from services.orders.course.domain.rules import RemissionRule
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.suicidality import SuicidalityAlert
from services.orders.course.domain.therapy import Attendance, ReferralStatus, TherapyKind, TherapySession, \
    integration_window
from services.orders.domain.series import SeriesPhase
from services.orders.domain.settings import ProtocolSettings
from shared.records import JsonRecord
from shared.scales import DEFINITIONS, CssrsRisk, Scale

_GIVING_INFUSIONS = (CourseStatus.INDUCTION, CourseStatus.MAINTENANCE)


class DueKind(enum.Enum):
    SUICIDALITY_ALERT = "suicidality-alert"
    RESPONSE_REVIEW = "response-review"
    REEVALUATION = "reevaluation"
    NEXT_INFUSION = "next-infusion"
    PRE_INFUSION_SCALE = "pre-infusion-scale"
    INTEGRATION_SESSION = "integration-session"
    GOAL = "goal"


@dataclass(frozen=True)
class DueAction(JsonRecord):
    kind: DueKind
    text: str
    due_on: date | None = None  # None: with the next infusion, whose window the series gives
    overdue: bool = False


@dataclass(frozen=True)
class InfusionLine(JsonRecord):
    number: int
    given_at: datetime
    phase: SeriesPhase
    dose_mg: float
    dose_mg_per_kg: float | None
    stopped_early: bool
    adverse_events: tuple[str, ...]  # kinds, e.g. ("nausea", "headache")


@dataclass(frozen=True)
class ScoreSeries(JsonRecord):
    """One scale's scores over time for the chart, with the lines the rules draw: remission threshold and the score
    at which the drop from baseline reaches a response."""

    scale: Scale
    scale_max: int
    points: tuple[ScorePoint, ...]
    remission_rule: RemissionRule | None
    response_level: float | None  # baseline × (1 − response %), None without a baseline above 0


@dataclass(frozen=True)
class CourseSummary(JsonRecord):
    course_id: str
    patient_id: str
    status: CourseStatus
    started_at: datetime
    induction_infusions_planned: int
    maintenance_interval_days: int | None
    infusions: tuple[InfusionLine, ...]
    total_dose_mg: float
    outcome: ScaleOutcome  # on the primary scale
    other_outcomes: tuple[ScaleOutcome, ...]  # the other scales that have scores
    series: tuple[ScoreSeries, ...]
    latest_cssrs_risk: CssrsRisk | None
    adverse_events: tuple[CourseAdverseEvent, ...]
    therapy_sessions: tuple[TherapySession, ...]
    open_alerts: tuple[SuicidalityAlert, ...]
    goal: OutcomeGoal | None
    goal_achievement: GoalAchievement | None
    due: tuple[DueAction, ...]
    history: tuple[CourseTransition, ...]


def course_summary(course: TreatmentCourse, now: datetime, settings: CourseSettings,
                   protocol: ProtocolSettings) -> CourseSummary:
    today = protocol.clinic_date(now)
    outcome = course_outcome(course, settings)
    scales = [settings.primary_scale] + [s for s in Scale if s is not settings.primary_scale and course.scores_of(s)]
    outcomes = {scale: course_outcome(course, settings, scale) for scale in scales}
    goal = next((g for g in course.goals if g.status is GoalStatus.ACTIVE), course.goals[-1] if course.goals else None)
    events_by_session: dict[str, list[str]] = {}
    for event in course.adverse_events:
        events_by_session.setdefault(event.session_id, []).append(event.kind)
    latest_cssrs = max(course.cssrs_screens, key=lambda s: s.measured_at, default=None)
    return CourseSummary(
        course_id=course.course_id, patient_id=course.patient_id, status=course.status,
        started_at=course.started_at, induction_infusions_planned=course.induction_infusions_planned,
        maintenance_interval_days=course.maintenance_interval_days,
        infusions=tuple(InfusionLine(i.number, i.given_at, i.phase, i.dose_mg, i.dose_mg_per_kg, i.stopped_early,
                                     tuple(events_by_session.get(i.session_id, ()))) for i in course.infusions),
        total_dose_mg=round(sum(i.dose_mg for i in course.infusions), 1),
        outcome=outcome,
        other_outcomes=tuple(outcomes[s] for s in scales[1:]),
        series=tuple(_series(course, outcomes[s], settings) for s in scales),
        latest_cssrs_risk=latest_cssrs.risk if latest_cssrs else None,
        adverse_events=course.adverse_events,
        therapy_sessions=course.therapy_sessions,
        open_alerts=course.open_alerts,
        goal=goal,
        goal_achievement=goal_achievement(goal, outcomes.get(goal.rule.scale) or outcome, today) if goal else None,
        due=due_actions(course, now, settings, protocol),
        history=course.transitions,
    )


def due_actions(course: TreatmentCourse, now: datetime, settings: CourseSettings,
                protocol: ProtocolSettings) -> tuple[DueAction, ...]:
    """What is due next, soonest first (undated ones, due with the next infusion, after the dated)."""
    today = protocol.clinic_date(now)
    actions: list[DueAction] = []
    for alert in course.open_alerts:
        actions.append(_due(DueKind.SUICIDALITY_ALERT, f"Review the suicidality alert ({alert.level.value}): "
                                                       f"{alert.detail}", protocol.clinic_date(alert.raised_at), today))
    for task in course.open_tasks:
        actions.append(_due(DueKind(task.kind.value), task.reason, task.due_on, today))
    if course.status is CourseStatus.MAINTENANCE and course.reevaluation_due_on:
        actions.append(_due(DueKind.REEVALUATION, "Maintenance re-evaluation", course.reevaluation_due_on, today))
    next_infusion_on = _next_maintenance_infusion(course, protocol)
    if course.status is CourseStatus.INDUCTION:
        number = len(course.current_induction_infusions) + 1
        actions.append(_due(DueKind.NEXT_INFUSION, f"Induction infusion {number} of "
                                                   f"{course.induction_infusions_planned}", None, today))
    elif course.status is CourseStatus.MAINTENANCE and next_infusion_on:
        actions.append(_due(DueKind.NEXT_INFUSION, f"Maintenance infusion (every {course.maintenance_interval_days} "
                                                   "days)", next_infusion_on, today))
    if course.status in _GIVING_INFUSIONS:
        actions += _pre_infusion_scales(course, settings, next_infusion_on, today)
    actions += _integration_sessions(course, settings, protocol, today)
    goal = next((g for g in course.goals if g.status is GoalStatus.ACTIVE), None)
    if goal is not None and course.status is not CourseStatus.STOPPED:
        achievement = goal_achievement(goal, course_outcome(course, settings, goal.rule.scale), today)
        if achievement is not GoalAchievement.ACHIEVED:
            actions.append(_due(DueKind.GOAL, f"Goal: {goal.description} ({achievement.value})", goal.due_on, today))
    return tuple(sorted(actions, key=lambda a: (a.due_on is None, a.due_on or date.max)))


def _series(course: TreatmentCourse, outcome: ScaleOutcome, settings: CourseSettings) -> ScoreSeries:
    baseline = outcome.baseline.total if outcome.baseline else 0
    level = round(baseline * (1 - settings.response_min_drop_pct / 100), 1) if baseline > 0 else None
    return ScoreSeries(outcome.scale, DEFINITIONS[outcome.scale].total_max, score_points(course, outcome.scale),
                       outcome.remission_rule, level)


def _next_maintenance_infusion(course: TreatmentCourse, protocol: ProtocolSettings) -> date | None:
    if course.status is not CourseStatus.MAINTENANCE or not course.maintenance_interval_days:
        return None
    """One interval after the last infusion (induction or maintenance), never before maintenance (re)started."""
    started = next((t.at for t in reversed(course.transitions) if t.kind in (
        TransitionKind.MAINTENANCE_STARTED, TransitionKind.MAINTENANCE_CONTINUED)), None)
    start_on = protocol.clinic_date(started) if started else None
    last = course.last_infusion
    if last is None:
        return start_on
    due_on = protocol.clinic_date(last.given_at) + timedelta(days=course.maintenance_interval_days)
    return max(due_on, start_on) if start_on else due_on


def _pre_infusion_scales(course: TreatmentCourse, settings: CourseSettings, next_infusion_on: date | None,
                         today: date) -> list[DueAction]:
    since = course.last_infusion.given_at if course.last_infusion else None
    actions = []
    for scale in settings.pre_infusion_scales:
        if not any(since is None or s.measured_at > since for s in course.scores_of(scale)):
            actions.append(_due(DueKind.PRE_INFUSION_SCALE, f"{DEFINITIONS[scale].name} before the next infusion",
                                next_infusion_on, today))
    if settings.cssrs_before_infusion and not any(since is None or s.measured_at > since
                                                  for s in course.cssrs_screens):
        actions.append(_due(DueKind.PRE_INFUSION_SCALE, "C-SSRS screener before the next infusion", next_infusion_on,
                            today))
    return actions


def _integration_sessions(course: TreatmentCourse, settings: CourseSettings, protocol: ProtocolSettings,
                          today: date) -> list[DueAction]:
    """An integration session to book after each infusion given since an active integration referral, while its
    window is still open."""
    referrals = [r for r in course.referrals if r.kind is TherapyKind.INTEGRATION and r.status is ReferralStatus.ACTIVE]
    if not referrals:
        return []
    since = min(r.referred_at for r in referrals)
    booked = {s.after_infusion_number for s in course.therapy_sessions
              if s.kind is TherapyKind.INTEGRATION and s.attendance is not Attendance.CANCELLED}
    actions = []
    for infusion in course.infusions:
        too_early = infusion.given_at < since - timedelta(hours=settings.integration_window_end_hours)
        if infusion.number in booked or too_early:
            continue
        start, end = integration_window(infusion.given_at, settings)
        if protocol.clinic_date(end) < today:
            continue
        actions.append(_due(DueKind.INTEGRATION_SESSION, f"Book the integration session after infusion "
                                                         f"{infusion.number}: between {start.isoformat()} and "
                                                         f"{end.isoformat()}", protocol.clinic_date(end), today))
    return actions


def _due(kind: DueKind, text: str, due_on: date | None, today: date) -> DueAction:
    return DueAction(kind, text, due_on, due_on is not None and due_on < today)
