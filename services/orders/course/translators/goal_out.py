"""The course's remission goal → Goal: ``target.measure`` the primary scale's total, ``target.detailQuantity`` the
threshold with the rule's comparator (PHQ-9 ``<`` 5, MADRS ``<=`` 10), ``target.dueDate``; ``lifecycleStatus`` from
the goal and ``achievementStatus`` from the current outcome (``outcomes.goal_achievement``)."""
from __future__ import annotations

from services.orders.course.domain.goals import OutcomeGoal
from services.orders.course.domain.outcomes import GoalAchievement
from services.orders.course.translators.codes import (
    GOAL_ACHIEVEMENT_CODES,
    GOAL_LIFECYCLE_BY_STATUS,
    KIND_GOAL,
    SCALE_TOTALS,
    SCORE_UNIT,
)
from services.orders.course.translators.common import FhirJson
from shared.fhir.datatypes import codeable_concept, fhir_date, identifier, quantity, reference
from shared.fhir.validate import validate_resource


def goal_resource(goal: OutcomeGoal, patient_id: str, achievement: GoalAchievement | None = None) -> FhirJson:
    target_quantity = quantity(goal.rule.threshold, SCORE_UNIT)
    target_quantity["comparator"] = goal.rule.comparison.symbol
    resource: FhirJson = {
        "resourceType": "Goal",
        "identifier": [identifier(KIND_GOAL, goal.goal_id)],
        "lifecycleStatus": GOAL_LIFECYCLE_BY_STATUS[goal.status],
        "description": {"text": goal.description},
        "subject": reference("Patient", patient_id),
        "startDate": fhir_date(goal.start_on),
        "target": [{
            "measure": codeable_concept(SCALE_TOTALS[goal.rule.scale]),
            "detailQuantity": target_quantity,
            "dueDate": fhir_date(goal.due_on),
        }],
    }
    if achievement is not None:
        resource["achievementStatus"] = codeable_concept(GOAL_ACHIEVEMENT_CODES[achievement])
    return validate_resource(resource)
