"""The course's goal: remission by the clinic's rule for the primary scale (PHQ-9 < 5 by default) by a due date
(the FHIR Goal with ``target.dueDate``). How far the patient is from it is computed from the outcome
(``outcomes.goal_achievement``), never stored."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

from services.orders.course.domain.rules import RemissionRule
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord


class GoalStatus(enum.Enum):
    """Values are FHIR goal-status (lifecycle) codes."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class OutcomeGoal(JsonRecord):
    goal_id: str
    rule: RemissionRule
    start_on: date
    due_on: date
    status: GoalStatus = GoalStatus.ACTIVE

    @property
    def description(self) -> str:
        return f"Remission: {self.rule.text} by {self.due_on.isoformat()}"


def remission_goal(goal_id: str, start_on: date, settings: CourseSettings) -> OutcomeGoal | None:
    """Remission on the primary scale, due ``remission_goal_due_days`` after ``start_on``; None when the clinic has
    no remission rule for that scale."""
    rule = settings.remission_rule(settings.primary_scale)
    if rule is None:
        return None
    return OutcomeGoal(goal_id, rule, start_on, start_on + timedelta(days=settings.remission_goal_due_days))
