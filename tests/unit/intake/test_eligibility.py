import dataclasses
from datetime import datetime, timedelta

import pytest

from services.intake.domain.consent import ConsentDecision, ConsentSigner
from services.intake.domain.contraindications import Presence
from services.intake.domain.decision import EligibilityOutcome, ReasonCode, ReasonEffect
from services.intake.domain.eligibility import decide_eligibility
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.recording import (
    record_conditions,
    record_consent,
    record_contraindications,
    record_cssrs,
    record_madrs,
    record_medications,
    record_override,
    record_phq9,
    record_trials,
    start_intake,
)
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals
from services.intake.messages import decision_message
from shared.fhir.codes import SNOMED, Code
from shared.records import to_json

from .builders import CONSENT_GIVEN, DECIDED_AT, MDD_ACTIVE, SERTRALINE_FAILED, T0, eligible_intake, screen_answers
from tests.unit.intake.builders import ADA, HOPPER

ELIGIBLE, NOT_ELIGIBLE, NEEDS_REVIEW = (
    EligibilityOutcome.ELIGIBLE, EligibilityOutcome.NOT_ELIGIBLE, EligibilityOutcome.NEEDS_REVIEW
)


def decide(intake, settings=None):
    return decide_eligibility(intake, settings or IntakeSettings(), DECIDED_AT).decision


def codes(decision):
    return [reason.code for reason in decision.reasons]


def with_screen(intake, settings, **presence):
    return record_contraindications(intake, screen_answers(settings, **presence), T0, ADA, settings)


def override(key, target=OverrideTarget.CONTRAINDICATION, reason="BP 150/95; treated, recheck before each dose"):
    return ClinicianOverride(target, key, HOPPER, T0 + timedelta(minutes=30), reason)


class TestCompleteIntake:
    def test_complete_trd_patient_with_consent_is_eligible_and_says_why(self, settings):
        decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        decision = decided.decision
        assert decided.status is IntakeStatus.DECIDED
        assert decision.outcome is ELIGIBLE
        assert decision.decided_at == DECIDED_AT
        assert codes(decision) == [ReasonCode.TRD_MET, ReasonCode.CONTRAINDICATION_SCREEN_CLEAR,
                                   ReasonCode.CONSENT_ON_FILE]
        assert all(reason.effect is ReasonEffect.INFO for reason in decision.reasons)
        assert "2 of 2 adequate trials without response" in decision.reasons[0].text
        assert decision.trd.meets_trd and decision.trd.min_adequate_trial_weeks == 6

    def test_rationale_joins_every_reason_text(self, settings):
        decision = decide(eligible_intake(settings))
        assert decision.rationale == "; ".join(r.text for r in decision.reasons)

    def test_deciding_twice_is_refused(self, settings):
        decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        with pytest.raises(IntakeStateError):
            decide_eligibility(decided, settings, DECIDED_AT)

    def test_decision_time_must_carry_a_timezone(self, settings):
        with pytest.raises(IntakeInputError) as error:
            decide_eligibility(eligible_intake(settings), settings, datetime(2026, 3, 2, 11, 0))
        assert error.value.field == "now"


class TestTrdRule:
    def test_one_failed_adequate_trial_is_not_trd_and_not_eligible(self, settings):
        intake = record_trials(eligible_intake(settings), [SERTRALINE_FAILED])
        decision = decide(intake)
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.NOT_TRD in codes(decision)

    def test_trials_not_recorded_needs_review_not_refusal(self, settings):
        intake = dataclasses.replace(eligible_intake(settings), trials=None)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.TRIALS_NOT_RECORDED in codes(decision)
        assert decision.trd is None

    def test_clinic_requiring_three_trials_turns_two_failures_into_not_eligible(self):
        settings = IntakeSettings(trd_min_adequate_trials=3)
        decision = decide(eligible_intake(settings), settings)
        assert decision.outcome is NOT_ELIGIBLE
        assert "at least 3 adequate trials" in decision.reasons[0].text


class TestContraindications:
    def test_present_absolute_contraindication_blocks_even_with_everything_else(self, settings):
        intake = with_screen(eligible_intake(settings), settings, aneurysmal_vascular_disease=Presence.PRESENT)
        decision = decide(intake)
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.ABSOLUTE_CONTRAINDICATION_PRESENT in codes(decision)
        assert "Aneurysmal vascular disease" in decision.rationale

    def test_unknown_absolute_contraindication_needs_review_never_eligible(self, settings):
        intake = with_screen(eligible_intake(settings), settings, ketamine_hypersensitivity=Presence.UNKNOWN)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.ABSOLUTE_CONTRAINDICATION_UNKNOWN in codes(decision)

    def test_present_relative_contraindication_without_override_needs_review(self, settings):
        intake = with_screen(eligible_intake(settings), settings, uncontrolled_hypertension=Presence.PRESENT)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.RELATIVE_CONTRAINDICATION_PRESENT in codes(decision)

    def test_overridden_relative_contraindication_is_eligible_with_the_override_recorded(self, settings):
        intake = with_screen(eligible_intake(settings), settings, uncontrolled_hypertension=Presence.PRESENT)
        intake = record_override(intake, override("uncontrolled-hypertension"), settings)
        decision = decide(intake)
        assert decision.outcome is ELIGIBLE
        reason = next(r for r in decision.reasons if r.code is ReasonCode.RELATIVE_CONTRAINDICATION_OVERRIDDEN)
        assert reason.effect is ReasonEffect.INFO
        assert HOPPER.display in reason.text and "2026-03-02 10:00 UTC (UTC+00:00)" in reason.text  # clinic time
        assert "recheck before each dose" in reason.text

    def test_an_override_does_not_carry_over_to_a_new_screen_that_answers_the_item_differently(self, settings):
        """Reviewer R3 (as HZ-57 for the C-SSRS review): "unknown" overridden ("negative hCG today"), then a new
        screen answering "present" kept the override, and the decision read the pregnancy as overridden."""
        intake = with_screen(eligible_intake(settings), settings, pregnancy_or_breastfeeding=Presence.UNKNOWN,
                             uncontrolled_hypertension=Presence.PRESENT)
        intake = record_override(intake, override("pregnancy-or-breastfeeding", reason="negative hCG today"),
                                 settings)
        intake = record_override(intake, override("uncontrolled-hypertension"), settings)
        rescreened = with_screen(intake, settings, pregnancy_or_breastfeeding=Presence.PRESENT,
                                 uncontrolled_hypertension=Presence.PRESENT)
        assert [o.key for o in rescreened.overrides] == ["uncontrolled-hypertension"]  # same answer: kept
        decision = decide(rescreened)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.RELATIVE_CONTRAINDICATION_PRESENT in codes(decision)

    def test_unknown_relative_contraindication_needs_review_and_can_be_overridden(self, settings):
        intake = with_screen(eligible_intake(settings), settings, pregnancy_or_breastfeeding=Presence.UNKNOWN)
        assert decide(intake).outcome is NEEDS_REVIEW
        assert ReasonCode.RELATIVE_CONTRAINDICATION_UNKNOWN in codes(decide(intake))
        overridden = record_override(intake, override("pregnancy-or-breastfeeding", reason="negative hCG today"),
                                     settings)
        assert decide(overridden).outcome is ELIGIBLE

    def test_clinic_moving_an_item_to_absolute_makes_an_earlier_override_void(self, settings):
        intake = with_screen(eligible_intake(settings), settings, active_psychosis=Presence.PRESENT)
        intake = record_override(intake, override("active-psychosis"), settings)
        stricter = IntakeSettings(
            absolute_contraindications=settings.absolute_contraindications + ("active-psychosis",),
            relative_contraindications=tuple(k for k in settings.relative_contraindications
                                             if k != "active-psychosis"),
        )
        decision = decide(intake, stricter)
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.ABSOLUTE_CONTRAINDICATION_PRESENT in codes(decision)

    def test_item_left_out_of_the_screen_needs_review_and_is_named(self, settings):
        answers = [a for a in screen_answers(settings) if a.key != "severe-hepatic-impairment"]
        intake = record_contraindications(eligible_intake(settings), answers, T0, ADA, settings)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert "Not answered: Severe hepatic impairment" in decision.rationale

    def test_screen_not_recorded_needs_review(self, settings):
        intake = dataclasses.replace(eligible_intake(settings), contraindications=None)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert codes(decision).count(ReasonCode.CONTRAINDICATION_SCREEN_NOT_RECORDED) == 1


class TestInteractingDrugs:
    def test_current_benzodiazepine_needs_review(self, settings):
        intake = record_medications(eligible_intake(settings), [MedicationEntry("Lorazepam 1 MG Oral Tablet",
                                                                                "active")])
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        reason = next(r for r in decision.reasons if r.code is ReasonCode.INTERACTING_DRUG)
        assert "benzodiazepine" in reason.text and "Lorazepam" in reason.text

    def test_stopped_drug_is_not_flagged(self, settings):
        intake = record_medications(eligible_intake(settings), [MedicationEntry("Lorazepam 1 MG", "stopped")])
        assert decide(intake).outcome is ELIGIBLE

    def test_override_of_the_class_makes_it_eligible(self, settings):
        intake = record_medications(eligible_intake(settings), [MedicationEntry("Theophylline 300 MG ER", "active")])
        intake = record_override(intake, override("xanthine", OverrideTarget.INTERACTING_DRUG_CLASS,
                                                  "hold theophylline 24 h before each infusion"), settings)
        decision = decide(intake)
        assert decision.outcome is ELIGIBLE
        assert ReasonCode.INTERACTING_DRUG_OVERRIDDEN in codes(decision)

    def test_blocking_class_setting_makes_it_not_eligible(self):
        settings = IntakeSettings(blocking_interacting_drug_classes=("maoi",))
        intake = record_medications(eligible_intake(settings), [MedicationEntry("phenelzine 15 mg", "active")])
        decision = decide(intake, settings)
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.INTERACTING_DRUG_BLOCKING in codes(decision)

    def test_medication_list_not_recorded_needs_review(self, settings):
        intake = dataclasses.replace(eligible_intake(settings), medications=None)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.MEDICATIONS_NOT_RECORDED in codes(decision)


class TestConsent:
    def test_missing_consent_never_yields_eligible(self, settings):
        intake = dataclasses.replace(eligible_intake(settings), consent=None)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.CONSENT_MISSING in codes(decision)

    def test_refused_consent_is_not_eligible(self, settings):
        refused = dataclasses.replace(CONSENT_GIVEN, decision=ConsentDecision.REFUSED)
        decision = decide(record_consent(eligible_intake(settings), refused))
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.CONSENT_REFUSED in codes(decision)

    def test_no_ride_home_agreement_is_not_eligible(self, settings):
        no_ride = dataclasses.replace(CONSENT_GIVEN, ride_home_agreed=False)
        decision = decide(record_consent(eligible_intake(settings), no_ride))
        assert decision.outcome is NOT_ELIGIBLE
        assert ReasonCode.RIDE_HOME_NOT_AGREED in codes(decision)

    def test_consent_by_representative_is_named_in_the_reason(self, settings):
        by_rep = dataclasses.replace(CONSENT_GIVEN, signed_by=ConsentSigner.LEGAL_REPRESENTATIVE,
                                     signer_name="J. Doe")
        decision = decide(record_consent(eligible_intake(settings), by_rep))
        assert decision.outcome is ELIGIBLE
        assert "given by a legal representative" in decision.rationale


class TestSuicidality:
    HIGH = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
            "ideation-with-intent": True, "ideation-with-plan-and-intent": False,
            "suicidal-behaviour-lifetime": False}

    def test_high_cssrs_risk_is_not_eligible_by_default_until_reviewed(self, settings):
        intake = record_cssrs(eligible_intake(settings), self.HIGH, T0, settings)
        decision = decide(intake)
        assert decision.outcome is NOT_ELIGIBLE
        reason = next(r for r in decision.reasons if r.code is ReasonCode.CSSRS_HIGH_RISK)
        assert "ideation-with-intent" in reason.text and "behavioural-health review" in reason.text

    def test_clinic_can_make_unreviewed_high_cssrs_risk_needs_review(self):
        settings = IntakeSettings(cssrs_high_risk_outcome=EligibilityOutcome.NEEDS_REVIEW)
        intake = record_cssrs(eligible_intake(settings), self.HIGH, T0, settings)
        assert decide(intake, settings).outcome is NEEDS_REVIEW

    def test_moderate_cssrs_risk_alone_holds_the_decision_for_review(self, settings):
        moderate = {"wish-to-be-dead": True, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": True,
                    "suicidal-behaviour-past-3-months": False}
        intake = record_cssrs(eligible_intake(settings), moderate, T0, settings)
        assert decide(intake).outcome is NEEDS_REVIEW

    def test_a_cssrs_screen_older_than_a_month_at_the_decision_holds_it_until_screened_again(self, settings):
        """Reviewer R3: a reopened intake decided weeks later kept the old screen, which asks about the past month."""
        from services.intake.domain.recording import reopen_intake
        first = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT)
        assert first.decision.outcome is ELIGIBLE
        later = DECIDED_AT + timedelta(days=40)
        reopened = reopen_intake(first, HOPPER, later, "new medication")
        stale = decide_eligibility(reopened, settings, later).decision
        assert stale.outcome is NEEDS_REVIEW and ReasonCode.CSSRS_OUT_OF_DATE in codes(stale)
        assert "screen again" in stale.rationale
        calm = {"wish-to-be-dead": False, "suicidal-thoughts": False, "suicidal-behaviour-lifetime": False}
        rescreened = record_cssrs(reopened, calm, later, settings, later)
        assert decide_eligibility(rescreened, settings, later).decision.outcome is ELIGIBLE
        screened_at = reopened.cssrs.answered_at
        on_the_day = decide_eligibility(reopened, settings, screened_at + timedelta(days=30)).decision
        assert ReasonCode.CSSRS_OUT_OF_DATE not in codes(on_the_day)

    def test_cssrs_max_age_must_be_a_finite_number_of_days(self):
        for bad in (0, -1, float("nan"), float("inf"), 91):
            with pytest.raises(ValueError, match="cssrs_max_age_days"):
                IntakeSettings(cssrs_max_age_days=bad).validate()
        IntakeSettings(cssrs_max_age_days=14).validate()

    def test_phq9_item9_positive_needs_review(self, settings):
        intake = record_phq9(eligible_intake(settings), [2, 3, 2, 2, 1, 2, 2, 1, 1], T0)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert "PHQ-9 item 9 (suicidal thoughts) scored 1" in decision.rationale

    def test_phq9_item9_can_be_information_only_by_setting(self):
        settings = IntakeSettings(phq9_item9_positive_needs_review=False)
        intake = record_phq9(eligible_intake(settings), [2, 3, 2, 2, 1, 2, 2, 1, 1], T0)
        decision = decide(intake, settings)
        assert decision.outcome is ELIGIBLE
        assert ReasonCode.PHQ9_SUICIDALITY in codes(decision)


class TestBaselineCompleteness:
    def test_each_missing_part_is_listed(self, settings):
        intake = dataclasses.replace(
            eligible_intake(settings), vitals=BaselineVitals(), madrs=None
        )
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        missing = [r.text for r in decision.reasons if r.code is ReasonCode.BASELINE_MISSING]
        assert missing == [
            "Baseline missing: blood pressure", "Baseline missing: heart rate", "Baseline missing: oxygen saturation",
            "Baseline missing: respiratory rate", "Baseline missing: body weight", "Baseline missing: body height",
            "Baseline missing: MADRS",
        ]

    def test_clinic_not_requiring_madrs_decides_without_it(self):
        settings = IntakeSettings(required_baseline_parts=("blood-pressure", "heart-rate", "spo2",
                                                           "respiratory-rate", "weight", "height", "phq9", "cssrs"))
        intake = dataclasses.replace(eligible_intake(settings), madrs=None)
        assert decide(intake, settings).outcome is ELIGIBLE

    def test_the_cssrs_cannot_be_dropped_from_the_required_baseline(self):
        """Reviewer R3: a clinic list without cssrs let an intake with no suicide-risk screen be eligible."""
        without = ("blood-pressure", "heart-rate", "spo2", "respiratory-rate", "weight", "height", "phq9", "madrs")
        with pytest.raises(ValueError, match="must keep cssrs"):
            IntakeSettings(required_baseline_parts=without).validate()

    def test_missing_cssrs_needs_review(self, settings):
        intake = dataclasses.replace(eligible_intake(settings), cssrs=None)
        decision = decide(intake)
        assert decision.outcome is NEEDS_REVIEW
        assert "Baseline missing: C-SSRS screener" in decision.rationale


class TestDiagnosis:
    def test_no_active_mdd_on_record_needs_review(self, settings):
        resolved = dataclasses.replace(MDD_ACTIVE, clinical_status="resolved")
        decision = decide(record_conditions(eligible_intake(settings), [resolved]))
        assert decision.outcome is NEEDS_REVIEW
        assert ReasonCode.MDD_NOT_ON_RECORD in codes(decision)

    def test_clinic_can_accept_another_mdd_code(self):
        recurrent = dataclasses.replace(MDD_ACTIVE, codings=(Code(SNOMED, "66344007", "Recurrent major depression"),))
        settings = IntakeSettings(mdd_condition_codes=(f"{SNOMED}|370143000", f"{SNOMED}|66344007"))
        intake = record_conditions(eligible_intake(settings), [recurrent])
        assert decide(intake, settings).outcome is ELIGIBLE
        assert decide(intake).outcome is NEEDS_REVIEW

    def test_diagnosis_check_can_be_switched_off(self):
        settings = IntakeSettings(require_active_mdd_diagnosis=False)
        intake = record_conditions(eligible_intake(settings), [])
        assert decide(intake, settings).outcome is ELIGIBLE


def test_not_eligible_wins_over_needs_review_and_every_reason_is_listed(settings):
    intake = start_intake("intake-9", "pat-9", T0)
    intake = record_trials(intake, [AntidepressantTrial("fluoxetine", None, 3, True, 10, True)])
    decision = decide(intake)
    assert decision.outcome is NOT_ELIGIBLE
    assert ReasonCode.NOT_TRD in codes(decision)
    for expected in (ReasonCode.CONTRAINDICATION_SCREEN_NOT_RECORDED, ReasonCode.MEDICATIONS_NOT_RECORDED,
                     ReasonCode.CONSENT_MISSING, ReasonCode.BASELINE_MISSING, ReasonCode.MDD_NOT_ON_RECORD):
        assert expected in codes(decision)


def test_the_decision_keeps_the_clinician_who_asked_for_it(settings):
    decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT, HOPPER)
    assert decided.decision.decided_by == HOPPER
    assert decide_eligibility(eligible_intake(settings), settings, DECIDED_AT).decision.decided_by is None
    for not_a_person in ("Dr Grace Hopper", ["Dr Hopper"]):  # a typed name is nobody: who decides is a Person
        with pytest.raises(IntakeInputError) as error:
            decide_eligibility(eligible_intake(settings), settings, DECIDED_AT, not_a_person)
        assert error.value.field == "decided_by"


def test_who_decided_is_stored_and_is_the_author_of_the_decision_message(settings):
    decided = decide_eligibility(eligible_intake(settings), settings, DECIDED_AT, HOPPER)
    assert to_json(decided.decision)["decided_by"] == HOPPER.to_dict()
    assert Intake.from_dict(decided.to_dict()).decision.decided_by == HOPPER
    provenance = decision_message(decided, "urn:ketalink:intake")["entry"][-1]["resource"]
    assert provenance["resourceType"] == "Provenance"
    assert provenance["agent"][0]["type"]["coding"][0]["code"] == "author"
    assert provenance["agent"][0]["who"] == HOPPER.fhir_reference()  # by reference


class TestMadrsSuicideItem:
    """Issue 13 defect 3 at the intake: MADRS item 10 (suicidal thoughts) at the clinic's threshold (default 4, a
    CLINICAL.md placeholder) holds the decision for review, as PHQ-9 item 9 does."""

    @pytest.mark.parametrize("item10, outcome", [(6, NEEDS_REVIEW), (4, NEEDS_REVIEW), (3, ELIGIBLE)])
    def test_madrs_item_10_from_4_needs_review(self, settings, item10, outcome):
        intake = record_madrs(eligible_intake(settings), [4, 4, 3, 3, 2, 3, 3, 4, 3, item10], T0, ADA)
        decision = decide(intake, settings)
        assert decision.outcome is outcome
        assert (ReasonCode.MADRS_SUICIDALITY in codes(decision)) is (outcome is NEEDS_REVIEW)
        if outcome is NEEDS_REVIEW:
            assert f"MADRS item 10 (suicidal thoughts) scored {item10} of 6" in decision.rationale

    @pytest.mark.parametrize("value", [0, 7])
    def test_a_threshold_outside_the_item_is_refused(self, value):
        with pytest.raises(ValueError, match="madrs_item10_review_min_score"):
            IntakeSettings(madrs_item10_review_min_score=value).validate()
