"""Urgent-use pathway (issue 13 safety feature): a prescriber may set the TRD rule aside with a documented reason;
the override is visible in the decision and in the EHR's RiskAssessment; every other rule still applies."""
import dataclasses
from datetime import timedelta

import pytest

from services.intake.domain.decision import EligibilityOutcome, ReasonCode, ReasonEffect
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.recording import record_cssrs, record_trials, record_urgent_use
from services.intake.domain.reviews import UrgentUseOverride
from services.intake.domain.settings import IntakeSettings
from services.intake.messages import decision_message

from .builders import DECIDED_AT, SERTRALINE_FAILED, T0, eligible_intake
from tests.unit.intake.builders import HOPPER

AT = T0 + timedelta(minutes=50)
URGENT = UrgentUseOverride(HOPPER, AT, "Acute suicidal ideation; inpatient team asks for rapid treatment",
                           True)


def one_failed_trial(settings):
    return record_trials(eligible_intake(settings), [SERTRALINE_FAILED], settings)


def test_not_trd_is_not_eligible_without_the_override(settings):
    assert decide_eligibility(one_failed_trial(settings), settings, DECIDED_AT).decision.outcome is \
        EligibilityOutcome.NOT_ELIGIBLE


def test_prescriber_override_sets_the_trd_rule_aside_and_says_so_in_the_ehr(settings):
    intake = record_urgent_use(one_failed_trial(settings), URGENT, settings, now=AT)
    decided = decide_eligibility(intake, settings, DECIDED_AT)
    assert decided.decision.outcome is EligibilityOutcome.ELIGIBLE
    reasons = {r.code: r for r in decided.decision.reasons}
    assert reasons[ReasonCode.NOT_TRD].effect is ReasonEffect.INFO
    urgent = reasons[ReasonCode.URGENT_USE]
    assert urgent.text == ("Urgent use: the TRD rule was set aside by Dr Grace Hopper at 2026-03-02 10:20 UTC "
                           "(UTC+00:00): Acute suicidal ideation; inpatient team asks for rapid treatment")
    bundle = decision_message(decided, "urn:test")
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert "Urgent use: the TRD rule was set aside by Dr Grace Hopper" in risk["prediction"][0]["rationale"]


def test_trials_not_recorded_are_covered_by_the_override(settings):
    intake = dataclasses.replace(eligible_intake(settings), trials=None)
    intake = record_urgent_use(intake, URGENT, settings, now=AT)
    assert decide_eligibility(intake, settings, DECIDED_AT).decision.outcome is EligibilityOutcome.ELIGIBLE


def test_an_unchecked_role_is_said_in_the_reason(settings):
    intake = record_urgent_use(one_failed_trial(settings), dataclasses.replace(URGENT, prescriber_checked=False),
                               settings, now=AT)
    assert "(prescriber role not checked)" in decide_eligibility(intake, settings, DECIDED_AT).decision.rationale


def test_the_override_does_not_lift_the_suicide_risk_review(settings):
    high = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
            "ideation-with-intent": True, "ideation-with-plan-and-intent": False,
            "suicidal-behaviour-lifetime": False}
    intake = record_cssrs(record_urgent_use(one_failed_trial(settings), URGENT, settings, now=AT), high, AT, settings)
    assert decide_eligibility(intake, settings, DECIDED_AT).decision.outcome is EligibilityOutcome.NOT_ELIGIBLE


def test_a_reason_is_required_and_the_clinic_can_turn_the_pathway_off(settings):
    with pytest.raises(IntakeInputError) as error:
        record_urgent_use(one_failed_trial(settings), dataclasses.replace(URGENT, reason=" "), settings, now=AT)
    assert error.value.field == "urgent_use.reason"
    off = IntakeSettings(urgent_use_allowed=False)
    with pytest.raises(IntakeInputError) as error:
        record_urgent_use(one_failed_trial(off), URGENT, off, now=AT)
    assert error.value.field == "urgent_use"
