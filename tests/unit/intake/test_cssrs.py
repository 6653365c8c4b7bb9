import pytest

from services.intake.domain.cssrs import CssrsItem, CssrsRisk
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.recording import checked_cssrs
from services.intake.domain.settings import IntakeSettings

from .builders import T0

NO = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}


def screen(settings=None, **answers):
    given = dict(NO)
    given.update({key.replace("_", "-"): value for key, value in answers.items()})
    return checked_cssrs(given, T0, settings or IntakeSettings())


class TestRisk:
    def test_all_no_is_no_risk(self):
        assert screen().risk is CssrsRisk.NONE

    def test_wish_to_be_dead_only_is_low(self):
        assert screen(wish_to_be_dead=True).risk is CssrsRisk.LOW

    def test_thoughts_with_method_but_no_intent_is_moderate(self):
        result = screen(suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=False,
                        ideation_with_plan_and_intent=False)
        assert result.risk is CssrsRisk.MODERATE

    def test_intent_is_high(self):
        result = screen(suicidal_thoughts=True, ideation_with_method=False, ideation_with_intent=True,
                        ideation_with_plan_and_intent=False)
        assert result.risk is CssrsRisk.HIGH

    def test_plan_with_intent_is_high(self):
        result = screen(suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=True,
                        ideation_with_plan_and_intent=True)
        assert result.risk is CssrsRisk.HIGH

    def test_behaviour_in_the_past_3_months_is_high_but_lifetime_only_is_moderate(self):
        assert screen(suicidal_behaviour_lifetime=True, suicidal_behaviour_past_3_months=True).risk is CssrsRisk.HIGH
        assert screen(suicidal_behaviour_lifetime=True,
                      suicidal_behaviour_past_3_months=False).risk is CssrsRisk.MODERATE

    def test_clinic_can_count_method_as_high(self):
        settings = IntakeSettings(
            cssrs_high_risk_items=("ideation-with-method", "ideation-with-intent", "ideation-with-plan-and-intent",
                                   "suicidal-behaviour-past-3-months"),
            cssrs_moderate_risk_items=("suicidal-behaviour-lifetime",),
        )
        result = screen(settings, suicidal_thoughts=True, ideation_with_method=True, ideation_with_intent=False,
                        ideation_with_plan_and_intent=False)
        assert result.risk is CssrsRisk.HIGH


class TestSkipLogic:
    def test_follow_ups_are_not_required_when_the_gate_is_no(self):
        result = screen()
        assert [a.item for a in result.answers] == [CssrsItem.WISH_TO_BE_DEAD, CssrsItem.SUICIDAL_THOUGHTS,
                                                    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME]

    def test_follow_ups_are_required_when_thoughts_is_yes(self):
        with pytest.raises(IntakeInputError) as error:
            screen(suicidal_thoughts=True, ideation_with_method=False, ideation_with_intent=False)
        assert error.value.field == "cssrs.ideation-with-plan-and-intent"

    def test_recent_behaviour_is_required_when_lifetime_behaviour_is_yes(self):
        with pytest.raises(IntakeInputError) as error:
            screen(suicidal_behaviour_lifetime=True)
        assert error.value.field == "cssrs.suicidal-behaviour-past-3-months"

    def test_yes_to_a_follow_up_whose_gate_is_no_is_contradictory(self):
        with pytest.raises(IntakeInputError, match="although suicidal-behaviour-lifetime is no") as error:
            screen(suicidal_behaviour_past_3_months=True)
        assert error.value.field == "cssrs.suicidal-behaviour-past-3-months"

    @pytest.mark.parametrize("missing", ["wish-to-be-dead", "suicidal-thoughts", "suicidal-behaviour-lifetime"])
    def test_always_asked_items_are_required(self, missing):
        answers = {key: value for key, value in NO.items() if key != missing}
        with pytest.raises(IntakeInputError) as error:
            checked_cssrs(answers, T0, IntakeSettings())
        assert error.value.field == f"cssrs.{missing}"

    def test_none_means_not_asked_and_unknown_keys_or_non_booleans_are_refused(self):
        assert screen(ideation_with_method=None).risk is CssrsRisk.NONE
        with pytest.raises(IntakeInputError) as error:
            checked_cssrs({**NO, "feels-sad": True}, T0, IntakeSettings())
        assert error.value.field == "cssrs.feels-sad"
        with pytest.raises(IntakeInputError) as error:
            checked_cssrs({**NO, "wish-to-be-dead": "yes"}, T0, IntakeSettings())
        assert error.value.field == "cssrs.wish-to-be-dead"
