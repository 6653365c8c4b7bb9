"""The course's Goal (the remission goal with its achievement): shape and round trip."""
from __future__ import annotations

import copy
from datetime import date

import pytest

from services.orders.course.domain.goals import GoalStatus, OutcomeGoal
from services.orders.course.domain.outcomes import GoalAchievement
from services.orders.course.domain.rules import Comparison, RemissionRule
from services.orders.course.translators.goal_in import goal_from_resource
from services.orders.course.translators.goal_out import goal_resource
from shared.errors import FhirMappingError
from shared.scales import Scale

from tests.unit.orders.course.builders import PATIENT, new_course


class TestGoal:
    def test_phq9_below_5_with_its_due_date(self):
        goal = new_course().goals[0]
        resource = goal_resource(goal, PATIENT, GoalAchievement.IMPROVING)
        assert resource["lifecycleStatus"] == "active"
        assert resource["achievementStatus"]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/goal-achievement", "code": "improving",
            "display": "Improving"}
        assert resource["description"] == {"text": "Remission: PHQ-9 < 5 by 2026-12-18"}
        target = resource["target"][0]
        assert target["measure"]["coding"][0]["code"] == "44261-6"
        assert (target["detailQuantity"]["comparator"], target["detailQuantity"]["value"]) == ("<", 5.0)
        assert target["dueDate"] == "2026-12-18"
        received = goal_from_resource(resource)
        assert (received.patient_id, received.goal, received.achievement) == (PATIENT, goal,
                                                                              GoalAchievement.IMPROVING)

    def test_madrs_at_most_12_round_trips_with_its_comparator(self):
        goal = OutcomeGoal("g-2", RemissionRule(Scale.MADRS, Comparison.AT_MOST, 12.0), date(2026, 11, 20),
                           date(2026, 12, 18), GoalStatus.COMPLETED)
        resource = goal_resource(goal, PATIENT)
        assert resource["target"][0]["detailQuantity"]["comparator"] == "<=" and "achievementStatus" not in resource
        assert resource["lifecycleStatus"] == "completed"
        assert goal_from_resource(resource).goal == goal

    @pytest.mark.parametrize("change, field", [
        (lambda r: r["target"][0]["detailQuantity"].update(comparator=">="),
         "Goal.target[0].detailQuantity.comparator"),
        (lambda r: r.update(lifecycleStatus="proposed"), "Goal.lifecycleStatus"),
        (lambda r: r["target"][0].update(measure={"text": "mood"}), "Goal.target[0].measure"),
        (lambda r: r["target"][0].pop("dueDate"), "Goal.target[0].dueDate"),
    ])
    def test_what_cannot_be_read(self, change, field):
        resource = copy.deepcopy(goal_resource(new_course().goals[0], PATIENT))
        change(resource)
        with pytest.raises(FhirMappingError) as error:
            goal_from_resource(resource)
        assert error.value.field == field
