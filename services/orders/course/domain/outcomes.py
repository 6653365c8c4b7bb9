"""Outcome rules applied to a course's scores on one scale: response, remission, loss of response and relapse after
remission, each judged by the clinic's rule stored with the result (``rules.py``).

- **Baseline**: the latest score taken as baseline or before an infusion, at or before the first infusion of the
  course (before any infusion: the latest such score so far). A score taken after treatment began is never a
  baseline. No baseline → response and relapse undetermined, with the reason.
- **Points** after the baseline (every score when there is no baseline) in time order; ``last`` is the latest,
  ``best`` the lowest (the earliest of equals).
- **Response** at a point: the drop from the baseline reaches the rule's percentage. Status = at the last point.
  A baseline of 0 leaves response undetermined (no drop can be measured).
- **Remission**: the last point meets the clinic's remission rule for the scale (PHQ-9 < 5; MADRS ≤ 10 or the
  clinic's 12). Undetermined without a rule for the scale or without a score after the baseline.
- **Loss of response** (not a relapse, which follows remission): after a response, the rule's number of consecutive points
  each below its drop; the response is lost until a later point meets the response rule again. It needs no
  remission.
- **Relapse after remission** (``RelapseRule``; SUSTAIN-1, CLINICAL.md): after a point that met the remission rule,
  the rule's number of consecutive points at or above its score, or a hospitalisation or suicide attempt recorded
  after remission (``clinical_events``); "in relapse" until a later point meets the remission rule again. No relapse
  rule for the scale (the clinic has none, or no remission rule) → never a relapse.
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
from services.orders.course.domain.model import ClinicalEvent, TreatmentCourse
from services.orders.course.domain.rules import LossOfResponseRule, RelapseRule, RemissionRule, ResponseRule, drop_pct
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
class Relapse(JsonRecord):
    """One relapse after remission: when it was confirmed and by what (the score that confirmed it, or the clinical
    event)."""

    confirmed_at: datetime
    evidence: str
    measurement_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class ScaleOutcome(JsonRecord):
    scale: Scale
    response_rule: ResponseRule
    loss_of_response_rule: LossOfResponseRule
    remission_rule: RemissionRule | None
    response: ResponseStatus
    remission: RemissionStatus
    baseline: ScorePoint | None = None
    last: ScorePoint | None = None
    best: ScorePoint | None = None
    last_drop_pct: float | None = None
    first_response: ScorePoint | None = None
    losses_of_response: tuple[ScorePoint, ...] = ()  # the point confirming each loss of response
    response_lost: bool = False  # lost and not regained since
    relapse_rule: RelapseRule | None = None
    first_remission: ScorePoint | None = None
    relapses: tuple[Relapse, ...] = ()  # each relapse after remission, with what confirmed it
    in_relapse: bool = False  # relapsed and not in remission again since
    reasons: tuple[str, ...] = ()  # why a status is undetermined, in words

    @property
    def responded(self) -> bool:
        """Met the response rule at least once."""
        return self.first_response is not None


def course_outcome(course: TreatmentCourse, settings: CourseSettings, scale: Scale | None = None) -> ScaleOutcome:
    """The outcome on ``scale`` (default: the clinic's primary scale)."""
    return evaluate_scale(course.scores, [i.given_at for i in course.infusions], scale or settings.primary_scale,
                          settings, course.clinical_events)


def evaluate_scale(scores: Sequence[ScaleScore], infusion_times: Sequence[datetime], scale: Scale,
                   settings: CourseSettings, clinical_events: Sequence[ClinicalEvent] = ()) -> ScaleOutcome:
    name = DEFINITIONS[scale].name
    response_rule, loss_rule = settings.response_rule(), settings.loss_of_response_rule()
    remission_rule = settings.remission_rule(scale)
    relapse_rule = settings.relapse_rule(scale) if remission_rule is not None else None
    of_scale = sorted((s for s in scores if s.scale is scale), key=lambda s: s.measured_at)
    baseline_score = _baseline(of_scale, infusion_times)
    after = [s for s in of_scale if baseline_score is None or s.measured_at > baseline_score.measured_at]
    points = [_point(s, infusion_times) for s in after]
    baseline = _point(baseline_score, infusion_times) if baseline_score else None
    last = points[-1] if points else None
    best = min(points, key=lambda p: (p.total, p.measured_at)) if points else None
    reasons: list[str] = []

    first_response, losses, response_lost = None, [], False
    if baseline is None:
        response = ResponseStatus.UNDETERMINED
        reasons.append(f"no baseline {name} at or before the first infusion")
    elif baseline.total <= 0:
        response = ResponseStatus.UNDETERMINED
        reasons.append(f"baseline {name} is 0: a drop from baseline cannot be measured")
    else:
        first_response, losses, response_lost = _response_history(baseline.total, points, response_rule,
                                                                   loss_rule)
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

    first_remission, relapses, in_relapse = None, [], False
    if remission_rule is not None:
        first_remission, relapses, in_relapse = _remission_history(points, remission_rule, relapse_rule,
                                                                   clinical_events)
    last_drop = drop_pct(baseline.total, last.total) if baseline and last else None
    return ScaleOutcome(scale, response_rule, loss_rule, remission_rule, response, remission, baseline, last, best,
                        last_drop, first_response, tuple(losses), response_lost, relapse_rule, first_remission,
                        tuple(relapses), in_relapse, tuple(dict.fromkeys(reasons)))


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
                      loss_rule: LossOfResponseRule) -> tuple[ScorePoint | None, list[ScorePoint], bool]:
    """(first response, the point confirming each loss of response, whether the response is lost now)."""
    first_response: ScorePoint | None = None
    losses: list[ScorePoint] = []
    responding, lost_in_a_row = False, 0
    for point in points:
        if response_rule.met(baseline, point.total):
            first_response = first_response or point
            responding, lost_in_a_row = True, 0
        elif responding and loss_rule.lost(baseline, point.total):
            lost_in_a_row += 1
            if lost_in_a_row >= loss_rule.consecutive_scores:
                losses.append(point)
                responding, lost_in_a_row = False, 0
        elif responding:
            lost_in_a_row = 0
    response_lost = bool(losses) and not responding
    return first_response, losses, response_lost


def _remission_history(points: list[ScorePoint], remission_rule: RemissionRule, relapse_rule: RelapseRule | None,
                       clinical_events: Sequence[ClinicalEvent]) -> tuple[ScorePoint | None, list[Relapse], bool]:
    """(first remission, each relapse after remission, whether the patient is in relapse now). Scores and clinical
    events are taken in time order; a relapse ends only with a later score in remission."""
    events = sorted(clinical_events, key=lambda e: e.occurred_at) if relapse_rule and relapse_rule.clinical_events \
        else []
    timeline: list[tuple[datetime, int, ScorePoint | ClinicalEvent]] = [
        *((p.measured_at, 0, p) for p in points), *((e.occurred_at, 1, e) for e in events)]
    first_remission: ScorePoint | None = None
    relapses: list[Relapse] = []
    remitted, high_in_a_row = False, 0
    for at, _order, item in sorted(timeline, key=lambda entry: (entry[0], entry[1])):
        if isinstance(item, ClinicalEvent):
            if remitted:
                relapses.append(Relapse(at, item.kind.text, event_id=item.event_id))
                remitted, high_in_a_row = False, 0
            continue
        if remission_rule.met_by(item.total):
            first_remission = first_remission or item
            remitted, high_in_a_row = True, 0
        elif remitted and relapse_rule is not None and relapse_rule.relapsed_score(item.total):
            high_in_a_row += 1
            if high_in_a_row >= relapse_rule.consecutive_scores:
                relapses.append(Relapse(at, f"{DEFINITIONS[relapse_rule.scale].name} {item.total} "
                                            f"({relapse_rule.text})", measurement_id=item.measurement_id))
                remitted, high_in_a_row = False, 0
        elif remitted:
            high_in_a_row = 0
    in_relapse = bool(relapses) and not remitted
    return first_remission, relapses, in_relapse


def outcome_text(outcome: ScaleOutcome) -> str:
    """The outcome in one line, e.g. "PHQ-9 24 → 10 (58.3% drop): response" or why it is undetermined."""
    name = DEFINITIONS[outcome.scale].name
    if outcome.baseline is None or outcome.last is None:
        return f"{name} response undetermined: {'; '.join(outcome.reasons)}"
    drop = "" if outcome.last_drop_pct is None else f" ({outcome.last_drop_pct:g}% drop)"
    text = f"{name} {outcome.baseline.total} → {outcome.last.total}{drop}: {outcome.response.value}"
    if outcome.response is ResponseStatus.UNDETERMINED:
        text += f" ({'; '.join(outcome.reasons)})"
    return text
