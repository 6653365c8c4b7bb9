"""Outcome rules applied to a course's scores on one scale: response, remission and relapse, each judged by the
clinic's rule stored with the result (``rules.py``).

- **Baseline**: the latest score taken as baseline or before an infusion, at or before the first infusion of the
  course (before any infusion: the latest such score so far). A score taken after treatment began is never a
  baseline. No baseline → response and relapse undetermined, with the reason.
- **Points** after the baseline (every score when there is no baseline) in time order; ``last`` is the latest,
  ``best`` the lowest (the earliest of equals).
- **Response** at a point: the drop from the baseline reaches the rule's percentage. Status = at the last point.
  A baseline of 0 leaves response undetermined (no drop can be measured).
- **Remission**: the last point meets the clinic's remission rule for the scale (PHQ-9 < 5; MADRS ≤ 10 or the
  clinic's 12). Undetermined without a rule for the scale or without a score after the baseline.
- **Relapse**: after a response, the relapse rule's number of consecutive points each below its drop; the patient
  is "in relapse" until a later point meets the response rule again.
- A rescored questionnaire replaces its earlier answers before these rules run, so every outcome follows the
  corrected items.
``infusions_before`` of a point counts the course's infusions started before it was measured, so "responded after 6
infusions" reads straight from the first response."""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.orders.course.domain.goals import OutcomeGoal
from services.orders.course.domain.measurements import ScaleScore, ScoreContext
from services.orders.course.domain.model import TreatmentCourse
from services.orders.course.domain.rules import RelapseRule, RemissionRule, ResponseRule, drop_pct
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord
from shared.scales import DEFINITIONS, Scale, severity_band

_BASELINE_CONTEXTS = (ScoreContext.BASELINE, ScoreContext.PRE_INFUSION)


class ResponseStatus(enum.Enum):
    RESPONSE = "response"
    NO_RESPONSE = "no-response"
    UNDETERMINED = "undetermined"


class RemissionStatus(enum.Enum):
    REMISSION = "remission"
    NO_REMISSION = "no-remission"
    UNDETERMINED = "undetermined"


class GoalAchievement(enum.Enum):
    """Values are FHIR goal-achievement codes."""

    IN_PROGRESS = "in-progress"
    IMPROVING = "improving"
    WORSENING = "worsening"
    NO_CHANGE = "no-change"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not-achieved"


@dataclass(frozen=True)
class ScorePoint(JsonRecord):
    measurement_id: str
    measured_at: datetime
    total: int
    infusions_before: int
    severity: str | None = None  # the total's severity band (shared.scales.SEVERITY_BANDS), None without bands


@dataclass(frozen=True)
class ScaleOutcome(JsonRecord):
    scale: Scale
    response_rule: ResponseRule
    relapse_rule: RelapseRule
    remission_rule: RemissionRule | None
    response: ResponseStatus
    remission: RemissionStatus
    baseline: ScorePoint | None = None
    last: ScorePoint | None = None
    best: ScorePoint | None = None
    last_drop_pct: float | None = None
    first_response: ScorePoint | None = None
    relapses: tuple[ScorePoint, ...] = ()  # the point confirming each relapse
    in_relapse: bool = False
    reasons: tuple[str, ...] = ()  # why a status is undetermined, in words

    @property
    def responded(self) -> bool:
        """Met the response rule at least once."""
        return self.first_response is not None


def course_outcome(course: TreatmentCourse, settings: CourseSettings, scale: Scale | None = None) -> ScaleOutcome:
    """The outcome on ``scale`` (default: the clinic's primary scale)."""
    return evaluate_scale(course.scores, [i.given_at for i in course.infusions], scale or settings.primary_scale,
                          settings)


def evaluate_scale(scores: Sequence[ScaleScore], infusion_times: Sequence[datetime], scale: Scale,
                   settings: CourseSettings) -> ScaleOutcome:
    name = DEFINITIONS[scale].name
    response_rule, relapse_rule = settings.response_rule(), settings.relapse_rule()
    remission_rule = settings.remission_rule(scale)
    of_scale = sorted((s for s in scores if s.scale is scale), key=lambda s: s.measured_at)
    baseline_score = _baseline(of_scale, infusion_times)
    after = [s for s in of_scale if baseline_score is None or s.measured_at > baseline_score.measured_at]
    points = [_point(s, infusion_times) for s in after]
    baseline = _point(baseline_score, infusion_times) if baseline_score else None
    last = points[-1] if points else None
    best = min(points, key=lambda p: (p.total, p.measured_at)) if points else None
    reasons: list[str] = []

    first_response, relapses, in_relapse = None, [], False
    if baseline is None:
        response = ResponseStatus.UNDETERMINED
        reasons.append(f"no baseline {name} at or before the first infusion")
    elif baseline.total <= 0:
        response = ResponseStatus.UNDETERMINED
        reasons.append(f"baseline {name} is 0: a drop from baseline cannot be measured")
    else:
        first_response, relapses, in_relapse = _response_history(baseline.total, points, response_rule,
                                                                  relapse_rule)
        if last is None:
            response = ResponseStatus.UNDETERMINED
            reasons.append(f"no {name} since the baseline")
        else:
            met = response_rule.met(baseline.total, last.total)
            response = ResponseStatus.RESPONSE if met else ResponseStatus.NO_RESPONSE

    if remission_rule is None:
        remission = RemissionStatus.UNDETERMINED
        reasons.append(f"the clinic has no remission rule for {name}")
    elif last is None:
        remission = RemissionStatus.UNDETERMINED
        reasons.append(f"no {name} since the baseline" if baseline else f"no {name} recorded")
    else:
        remission = RemissionStatus.REMISSION if remission_rule.met_by(last.total) else RemissionStatus.NO_REMISSION

    last_drop = drop_pct(baseline.total, last.total) if baseline and last else None
    return ScaleOutcome(scale, response_rule, relapse_rule, remission_rule, response, remission, baseline, last, best,
                        last_drop, first_response, tuple(relapses), in_relapse, tuple(dict.fromkeys(reasons)))


def score_points(course: TreatmentCourse, scale: Scale) -> tuple[ScorePoint, ...]:
    """Every score of ``scale`` as a point, oldest first (for the chart)."""
    times = [i.given_at for i in course.infusions]
    return tuple(_point(s, times) for s in course.scores_of(scale))


def goal_achievement(goal: OutcomeGoal, outcome: ScaleOutcome, today: date) -> GoalAchievement:
    """Achieved when the last score meets the goal's rule; not achieved once past due; otherwise the direction of
    the last score against the baseline (in progress without both)."""
    last = outcome.last if outcome.scale is goal.rule.scale else None
    if last is not None and goal.rule.met_by(last.total):
        return GoalAchievement.ACHIEVED
    if today > goal.due_on:
        return GoalAchievement.NOT_ACHIEVED
    if last is None or outcome.baseline is None:
        return GoalAchievement.IN_PROGRESS
    if last.total < outcome.baseline.total:
        return GoalAchievement.IMPROVING
    return GoalAchievement.WORSENING if last.total > outcome.baseline.total else GoalAchievement.NO_CHANGE


def _baseline(scores: list[ScaleScore], infusion_times: Sequence[datetime]) -> ScaleScore | None:
    first_infusion = min(infusion_times) if infusion_times else None
    candidates = [s for s in scores if s.context in _BASELINE_CONTEXTS
                  and (first_infusion is None or s.measured_at <= first_infusion)]
    return candidates[-1] if candidates else None


def _point(score: ScaleScore, infusion_times: Sequence[datetime]) -> ScorePoint:
    before = sum(1 for given_at in infusion_times if given_at < score.measured_at)
    band = severity_band(score.scale, score.total_score)
    return ScorePoint(score.measurement_id, score.measured_at, score.total_score, before,
                      band.label if band else None)


def _response_history(baseline: int, points: list[ScorePoint], response_rule: ResponseRule,
                      relapse_rule: RelapseRule) -> tuple[ScorePoint | None, list[ScorePoint], bool]:
    """(first response, the point confirming each relapse, whether the patient is in relapse now)."""
    first_response: ScorePoint | None = None
    relapses: list[ScorePoint] = []
    responding, lost_in_a_row = False, 0
    for point in points:
        if response_rule.met(baseline, point.total):
            first_response = first_response or point
            responding, lost_in_a_row = True, 0
        elif responding and relapse_rule.lost(baseline, point.total):
            lost_in_a_row += 1
            if lost_in_a_row >= relapse_rule.consecutive_scores:
                relapses.append(point)
                responding, lost_in_a_row = False, 0
        elif responding:
            lost_in_a_row = 0
    in_relapse = bool(relapses) and not responding
    return first_response, relapses, in_relapse
