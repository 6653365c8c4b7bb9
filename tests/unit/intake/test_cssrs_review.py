"""Issue 13 defect 4: C-SSRS moderate risk at intake needs a documented behavioural-health review before the
patient can be eligible; high risk is not eligible until reviewed (Columbia triage, CLINICAL.md)."""
from datetime import timedelta

import pytest

from services.intake.domain.decision import EligibilityOutcome, ReasonCode, ReasonEffect
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.progress import missing_items
from services.intake.domain.recording import record_cssrs, record_cssrs_review
from services.intake.domain.reviews import BehaviouralHealthReview, ReviewOutcome
from services.intake.messages import decision_message

from .builders import CSSRS_LOW, DECIDED_AT, T0, eligible_intake
from shared.people import Person

# Ideation with method plus a lifetime attempt; PHQ-9 item 9 = 0 in the builder (the reviewer's case).
MODERATE = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
            "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
            "suicidal-behaviour-lifetime": True, "suicidal-behaviour-past-3-months": False}
HIGH = {**MODERATE, "ideation-with-intent": True}
REVIEWED_AT = T0 + timedelta(minutes=45)


def review(outcome=ReviewOutcome.PROCEED, at=REVIEWED_AT, note="Seen by Dr Ng (psychiatry): no current plan; "
                                                                  "safety plan and crisis line given"):
    return BehaviouralHealthReview(Person("Practitioner/dr-grace-ng", "Dr Grace Ng"), at, outcome, note, None, T0)  # risk and screen: set by the domain


def decide(intake, settings):
    return decide_eligibility(intake, settings, DECIDED_AT).decision


def test_moderate_cssrs_with_item9_zero_needs_review_not_eligible(settings):
    intake = record_cssrs(eligible_intake(settings), MODERATE, T0, settings)
    decision = decide(intake, settings)
    assert decision.outcome is EligibilityOutcome.NEEDS_REVIEW
    reason = next(r for r in decision.reasons if r.code is ReasonCode.CSSRS_MODERATE_RISK)
    assert reason.effect is ReasonEffect.REVIEW and "behavioural-health review" in reason.text
    assert any(m.part == "cssrs_review" for m in missing_items(intake, settings))


def test_high_cssrs_is_not_eligible_until_reviewed(settings):
    intake = record_cssrs(eligible_intake(settings), HIGH, T0, settings)
    assert decide(intake, settings).outcome is EligibilityOutcome.NOT_ELIGIBLE


@pytest.mark.parametrize("answers", [MODERATE, HIGH], ids=["moderate", "high"])
def test_review_saying_proceed_makes_the_patient_eligible_and_is_in_the_ehr_rationale(settings, answers):
    intake = record_cssrs(eligible_intake(settings), answers, T0, settings)
    intake = record_cssrs_review(intake, review(), settings, now=REVIEWED_AT)
    assert intake.cssrs_review.risk_reviewed is intake.cssrs.risk
    decided = decide_eligibility(intake, settings, DECIDED_AT)
    assert decided.decision.outcome is EligibilityOutcome.ELIGIBLE
    reason = next(r for r in decided.decision.reasons if r.code is ReasonCode.CSSRS_REVIEWED)
    assert "reviewed by Dr Grace Ng at 2026-03-02 10:15 UTC (UTC+00:00): proceed: Seen by Dr Ng" in reason.text
    bundle = decision_message(decided, "urn:test")
    risk = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RiskAssessment")
    assert "reviewed by Dr Grace Ng" in risk["prediction"][0]["rationale"]


def test_review_saying_do_not_proceed_is_not_eligible(settings):
    intake = record_cssrs(eligible_intake(settings), MODERATE, T0, settings)
    intake = record_cssrs_review(intake, review(ReviewOutcome.DO_NOT_PROCEED), settings, now=REVIEWED_AT)
    assert decide(intake, settings).outcome is EligibilityOutcome.NOT_ELIGIBLE


def test_a_new_screen_needs_a_new_review(settings):
    intake = record_cssrs(eligible_intake(settings), MODERATE, T0, settings)
    intake = record_cssrs_review(intake, review(), settings, now=REVIEWED_AT)
    intake = record_cssrs(intake, HIGH, REVIEWED_AT, settings)
    assert intake.cssrs_review is None
    assert decide(intake, settings).outcome is EligibilityOutcome.NOT_ELIGIBLE


def test_low_risk_cannot_be_reviewed_and_a_review_needs_a_note(settings):
    low = record_cssrs(eligible_intake(settings), CSSRS_LOW, T0, settings)
    with pytest.raises(IntakeInputError) as error:
        record_cssrs_review(low, review(), settings, now=REVIEWED_AT)
    assert error.value.field == "cssrs_review"
    moderate = record_cssrs(low, MODERATE, T0, settings)
    with pytest.raises(IntakeInputError) as error:
        record_cssrs_review(moderate, review(note="  "), settings, now=REVIEWED_AT)
    assert error.value.field == "cssrs_review.note"
    with pytest.raises(IntakeInputError) as error:
        record_cssrs_review(moderate, review(at=T0 - timedelta(minutes=1)), settings, now=REVIEWED_AT)
    assert error.value.field == "cssrs_review.reviewed_at"
