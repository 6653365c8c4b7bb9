"""Goal (as ``goal_out`` writes it) → the remission goal and its achievement status. The rule comes back from the
target: the measure names the scale, the comparator (``<`` or ``<=``) and value the threshold."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.orders.course.domain.goals import OutcomeGoal
from services.orders.course.domain.outcomes import GoalAchievement
from services.orders.course.domain.rules import Comparison, RemissionRule
from services.orders.course.translators.codes import (
    GOAL_ACHIEVEMENT_CODES,
    GOAL_LIFECYCLE_BY_STATUS,
    KIND_GOAL,
    SCALE_TOTALS,
    SCORE_UNIT,
)
from services.orders.course.translators.common import FhirJson, coded, required_coded
from shared.errors import FhirMappingError
from shared.fhir.reading import patient_id_of, validated
from shared.fhir.datatypes import find_identifier, read_quantity

_COMPARISON_BY_SYMBOL = {c.symbol: c for c in Comparison}
_STATUS_BY_LIFECYCLE = {value: status for status, value in GOAL_LIFECYCLE_BY_STATUS.items()}


@dataclass(frozen=True)
class ReceivedGoal:
    patient_id: str
    goal: OutcomeGoal
    achievement: GoalAchievement | None


def goal_from_resource(resource: FhirJson) -> ReceivedGoal:
    resource = validated(resource, "Goal")
    goal_id = find_identifier(resource, KIND_GOAL)
    if not goal_id:
        raise FhirMappingError("Goal.identifier", "the Ketalink goal identifier is missing")
    status = _STATUS_BY_LIFECYCLE.get(resource.get("lifecycleStatus"))
    if status is None:
        raise FhirMappingError("Goal.lifecycleStatus", f"{resource.get('lifecycleStatus')!r} is not active, completed "
                                                       "or cancelled")
    targets = resource.get("target") or []
    if len(targets) != 1:
        raise FhirMappingError("Goal.target", "expected one target (the remission rule)")
    target = targets[0]
    scale = required_coded(target.get("measure"), SCALE_TOTALS, "Goal.target[0].measure")
    detail = target.get("detailQuantity") or {}
    comparison = _COMPARISON_BY_SYMBOL.get(detail.get("comparator"))
    if comparison is None:
        raise FhirMappingError("Goal.target[0].detailQuantity.comparator", "expected < or <=")
    try:
        threshold = read_quantity(detail, SCORE_UNIT)
    except ValueError as error:
        raise FhirMappingError("Goal.target[0].detailQuantity", str(error)) from None
    if threshold is None:
        raise FhirMappingError("Goal.target[0].detailQuantity.value", "the threshold is required")
    goal = OutcomeGoal(goal_id, RemissionRule(scale, comparison, threshold),
                       _date(resource.get("startDate"), "Goal.startDate"),
                       _date(target.get("dueDate"), "Goal.target[0].dueDate"), status)
    return ReceivedGoal(patient_id_of(resource.get("subject"), "Goal.subject"), goal,
                        coded(resource.get("achievementStatus"), GOAL_ACHIEVEMENT_CODES))


def _date(text: str | None, path: str) -> date:
    if not text:
        raise FhirMappingError(path, "a date is required")
    return date.fromisoformat(text[:10])


