"""The eligibility decision: each rule lists its reasons; the outcome follows from their effects (decision.py).

Rules: TRD per the clinic rule; absolute contraindication present → not eligible, unknown → review; "not applicable" the patient's
record (read again) or the settings no longer support → review; relative
present or unknown → review unless a clinician overrode it (then listed as information); any configured item
not answered → review; interacting current drugs → review (or not eligible for blocking classes) unless
overridden; consent refused or no ride-home agreement → not eligible, consent missing → review, consent with a
configured element not acknowledged → not eligible; C-SSRS moderate risk → review and high risk → the clinic's
outcome (default not eligible) until a documented behavioural-health review says proceed (a review saying do not
proceed → not eligible); a C-SSRS screen older than ``cssrs_max_age_days`` at the decision → review; PHQ-9 item 9 positive → review (setting); each missing required baseline part → review;
no active MDD diagnosis on record → review (setting); a part recorded after the decision time → not eligible.
A prescriber's urgent-use override turns the TRD rule (not met, or trials not recorded) into information.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from services.intake.domain.baseline import BASELINE_PART_LABELS
from services.intake.domain.checks import require_aware, require_person
from services.intake.domain.consent import ConsentDecision, ConsentSigner, consent_element_label
from services.intake.domain.contraindications import ContraindicationClass, Presence, contraindication_label
from services.intake.domain.cssrs import CssrsRisk
from services.intake.domain.decision import (
    EligibilityDecision,
    EligibilityOutcome,
    Reason,
    ReasonCode,
    ReasonEffect,
    outcome_of,
)
from services.intake.domain.errors import IntakeStateError
from services.intake.domain.medications import interacting_drug_flags
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.plausibility import future_part_times
from services.intake.domain.pregnancy import childbearing_potential, why_applicable
from services.intake.domain.progress import missing_baseline_parts
from services.intake.domain.reviews import ReviewOutcome
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import TrdAssessment, assess_trd
from shared.clinic_time import current_clinic_zone, format_clinic_time
from shared.people import Person

INFO, REVIEW, BLOCK = ReasonEffect.INFO, ReasonEffect.REVIEW, ReasonEffect.BLOCK


def decide_eligibility(
    intake: Intake, settings: IntakeSettings, now: datetime, decided_by: Person | None = None
) -> Intake:
    """The intake, decided at ``now`` (by ``decided_by``), with the outcome and every reason; refuses an already
    decided intake."""
    if intake.status is not IntakeStatus.IN_PROGRESS:
        raise IntakeStateError("the intake is already decided; reopen it to decide again")
    require_aware(now, "now")
    decided_by = require_person(decided_by, "decided_by") if decided_by is not None else None
    trd = assess_trd(intake.trials, settings) if intake.trials is not None else None
    reasons = (
        _trd_reasons(intake, trd)
        + _contraindication_reasons(intake, settings)
        + _interaction_reasons(intake, settings)
        + _consent_reasons(intake, settings)
        + _suicidality_reasons(intake, settings)
        + _cssrs_age_reasons(intake, settings, now)
        + _baseline_reasons(intake, settings)
        + _diagnosis_reasons(intake, settings)
        + _time_reasons(intake, settings, now)
    )
    decision = EligibilityDecision(outcome_of(reasons), reasons, now, trd, decided_by)
    return dataclasses.replace(intake, status=IntakeStatus.DECIDED, decision=decision)


def _trd_reasons(intake: Intake, trd: TrdAssessment | None) -> tuple[Reason, ...]:
    urgent = intake.urgent_use
    if urgent is not None and (trd is None or not trd.meets_trd):
        who = urgent.overridden_by if urgent.prescriber_checked else f"{urgent.overridden_by} (prescriber role not " \
                                                                        "checked)"
        overridden = Reason(ReasonCode.URGENT_USE, f"Urgent use: the TRD rule was set aside by {who} at "
                                                   f"{_when(urgent.overridden_at)}: {urgent.reason}", INFO)
        if trd is None:
            return (Reason(ReasonCode.TRIALS_NOT_RECORDED, "Prior antidepressant trials not recorded", INFO),
                    overridden)
        counted = f"{trd.failed_adequate_trials} of {trd.adequate_trials} adequate trials without response"
        return (Reason(ReasonCode.NOT_TRD, f"Not treatment-resistant: {counted}", INFO), overridden)
    if trd is None:
        return (Reason(ReasonCode.TRIALS_NOT_RECORDED, "Prior antidepressant trials not recorded", REVIEW),)
    rule = (
        f"rule: at least {trd.min_adequate_trials} adequate trials (adequate dose for at least "
        f"{trd.min_adequate_trial_weeks:g} weeks) in the current episode without at least "
        f"{trd.response_threshold_pct:g}% improvement"
    )
    counted = f"{trd.failed_adequate_trials} of {trd.adequate_trials} adequate trials without response"
    if trd.meets_trd:
        return (Reason(ReasonCode.TRD_MET, f"Treatment-resistant depression: {counted} ({rule})", INFO),)
    return (Reason(ReasonCode.NOT_TRD, f"Not treatment-resistant: {counted} ({rule})", BLOCK),)


def _contraindication_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    screen = intake.contraindications
    if screen is None:
        return (Reason(ReasonCode.CONTRAINDICATION_SCREEN_NOT_RECORDED, "Contraindication screen not recorded",
                       REVIEW),)
    reasons: list[Reason] = []
    for key in settings.absolute_contraindications + settings.relative_contraindications:
        answer = screen.answer_for(key)
        label = contraindication_label(key)
        if answer is None:
            reasons.append(Reason(ReasonCode.CONTRAINDICATION_NOT_ANSWERED, f"Not answered: {label}", REVIEW))
        elif answer.presence is Presence.NOT_APPLICABLE and not _not_applicable_holds(intake, key, settings):
            # checked when recorded, and again here: the patient's record or the clinic's settings may have changed
            reasons.append(Reason(ReasonCode.CONTRAINDICATION_NOT_ANSWERED, f"'Not applicable' no longer holds "
                                  f"({why_applicable(intake.patient)}): {label}: answer present, absent or unknown",
                                  REVIEW))
        elif answer.presence not in (Presence.ABSENT, Presence.NOT_APPLICABLE):  # not applicable: by the record
            reasons.append(_present_or_unknown(key, label, answer.presence, intake, settings))
    if not reasons:
        reasons.append(Reason(ReasonCode.CONTRAINDICATION_SCREEN_CLEAR,
                              "No contraindication present in the screen", INFO))
    return tuple(reasons)


def _not_applicable_holds(intake: Intake, key: str, settings: IntakeSettings) -> bool:
    """"Not applicable" stands only for a sex- and age-dependent item of a patient the record (as read now, under
    today's settings) shows cannot be of child-bearing potential (``domain/pregnancy.py``)."""
    return key in settings.sex_and_age_dependent_contraindications and not childbearing_potential(intake.patient,
                                                                                                    settings)


def _present_or_unknown(key: str, label: str, presence: Presence, intake: Intake, settings: IntakeSettings) -> Reason:
    present = presence is Presence.PRESENT
    if settings.contraindication_class(key) is ContraindicationClass.ABSOLUTE:
        if present:
            return Reason(ReasonCode.ABSOLUTE_CONTRAINDICATION_PRESENT, f"Absolute contraindication: {label}", BLOCK)
        return Reason(ReasonCode.ABSOLUTE_CONTRAINDICATION_UNKNOWN,
                      f"Absolute contraindication not ruled out: {label}", REVIEW)
    override = _override_for(intake, OverrideTarget.CONTRAINDICATION, key)
    state = "present" if present else "unknown"
    if override is not None:
        return Reason(ReasonCode.RELATIVE_CONTRAINDICATION_OVERRIDDEN,
                      f"Relative contraindication {state}: {label}; {_overridden(override)}", INFO)
    if present:
        return Reason(ReasonCode.RELATIVE_CONTRAINDICATION_PRESENT,
                      f"Relative contraindication present without a clinician override: {label}", REVIEW)
    return Reason(ReasonCode.RELATIVE_CONTRAINDICATION_UNKNOWN,
                  f"Relative contraindication not ruled out: {label}", REVIEW)


def _interaction_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    if intake.medications is None:
        return (Reason(ReasonCode.MEDICATIONS_NOT_RECORDED,
                       "Medication list not recorded (interacting drugs not screened)", REVIEW),)
    reasons = []
    for flag in interacting_drug_flags(intake.medications, settings.interacting_drug_class_terms,
                                       settings.interacting_drug_class_codes):
        what = f"Interacting drug ({flag.drug_class}): {flag.drug_name}"
        override = _override_for(intake, OverrideTarget.INTERACTING_DRUG_CLASS, flag.drug_class)
        if flag.drug_class in settings.blocking_interacting_drug_classes:
            reasons.append(Reason(ReasonCode.INTERACTING_DRUG_BLOCKING, f"{what} (blocking class)", BLOCK))
        elif override is not None:
            reasons.append(Reason(ReasonCode.INTERACTING_DRUG_OVERRIDDEN, f"{what}; {_overridden(override)}", INFO))
        else:
            reasons.append(Reason(ReasonCode.INTERACTING_DRUG, f"{what} needs review", REVIEW))
    return tuple(reasons)


def _consent_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    consent = intake.consent
    if consent is None:
        return (Reason(ReasonCode.CONSENT_MISSING, "Informed consent not recorded", REVIEW),)
    if consent.decision is ConsentDecision.REFUSED:
        return (Reason(ReasonCode.CONSENT_REFUSED, "Informed consent refused", BLOCK),)
    signer = "the patient" if consent.signed_by is ConsentSigner.PATIENT else "a legal representative"
    reasons = [Reason(ReasonCode.CONSENT_ON_FILE,
                      f"Informed consent given by {signer} (consent text {consent.consent_text_version})", INFO)]
    if not consent.ride_home_agreed:
        reasons.append(Reason(ReasonCode.RIDE_HOME_NOT_AGREED,
                              "No agreement to be taken home by a responsible adult", BLOCK))
    missing = [key for key in settings.consent_elements if key not in consent.elements_acknowledged]
    if missing:
        reasons.append(Reason(ReasonCode.CONSENT_INCOMPLETE, "Consent incomplete: not explained and acknowledged: "
                              + "; ".join(consent_element_label(key) for key in missing), BLOCK))
    return tuple(reasons)


def _suicidality_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    reasons = list(_cssrs_reasons(intake, settings))
    if intake.phq9 is not None and intake.phq9.suicidality_flag:
        effect = REVIEW if settings.phq9_item9_positive_needs_review else INFO
        score = intake.phq9.item_scores[-1]
        reasons.append(Reason(ReasonCode.PHQ9_SUICIDALITY, f"PHQ-9 item 9 (suicidal thoughts) scored {score}", effect))
    if intake.madrs is not None and intake.madrs.suicidality_item >= settings.madrs_item10_review_min_score:
        reasons.append(Reason(ReasonCode.MADRS_SUICIDALITY, f"MADRS item 10 (suicidal thoughts) scored "
                                                            f"{intake.madrs.suicidality_item} of 6 (review from "
                                                            f"{settings.madrs_item10_review_min_score})", REVIEW))
    return tuple(reasons)


def _cssrs_age_reasons(intake: Intake, settings: IntakeSettings, now: datetime) -> tuple[Reason, ...]:
    """A screen older than ``cssrs_max_age_days`` at the decision (e.g. kept through a reopening) holds it for
    review: the screener asks about the past month, so it no longer tells the patient's risk now."""
    screen = intake.cssrs
    if screen is None or now - screen.answered_at <= timedelta(days=settings.cssrs_max_age_days):
        return ()
    return (Reason(ReasonCode.CSSRS_OUT_OF_DATE, f"C-SSRS screener answered at {_when(screen.answered_at)}, more "
                   f"than {settings.cssrs_max_age_days:g} days before the decision: screen again", REVIEW),)


def _cssrs_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    """Columbia triage: moderate → behavioural-health review before eligible; high → not eligible (setting) until
    reviewed. The review must be of the current screen; its outcome decides."""
    screen = intake.cssrs
    if screen is None or screen.risk not in (CssrsRisk.MODERATE, CssrsRisk.HIGH):
        return ()
    endorsed = ", ".join(item.value for item in screen.endorsed_items())
    high = screen.risk is CssrsRisk.HIGH
    code = ReasonCode.CSSRS_HIGH_RISK if high else ReasonCode.CSSRS_MODERATE_RISK
    review = intake.cssrs_review
    if review is None or review.cssrs_answered_at != screen.answered_at:
        effect = BLOCK if high and settings.cssrs_high_risk_outcome is EligibilityOutcome.NOT_ELIGIBLE else REVIEW
        return (Reason(code, f"C-SSRS screener {screen.risk.value} risk ({endorsed}): needs a documented "
                             "behavioural-health review", effect),)
    proceed = review.outcome is ReviewOutcome.PROCEED
    text = (f"C-SSRS screener {screen.risk.value} risk ({endorsed}) reviewed by {review.reviewed_by} at "
            f"{_when(review.reviewed_at)}: {'proceed' if proceed else 'do not proceed'}: {review.note}")
    return (Reason(ReasonCode.CSSRS_REVIEWED, text, INFO if proceed else BLOCK),)


def _time_reasons(intake: Intake, settings: IntakeSettings, now: datetime) -> tuple[Reason, ...]:
    late = future_part_times(intake, now, settings)
    if not late:
        return ()
    return (Reason(ReasonCode.IMPLAUSIBLE_TIME, "Recorded after the decision time (impossible; record again): "
                   + ", ".join(late), BLOCK),)


def _baseline_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    return tuple(
        Reason(ReasonCode.BASELINE_MISSING, f"Baseline missing: {BASELINE_PART_LABELS[part]}", REVIEW)
        for part in missing_baseline_parts(intake, settings)
    )


def _diagnosis_reasons(intake: Intake, settings: IntakeSettings) -> tuple[Reason, ...]:
    if not settings.require_active_mdd_diagnosis:
        return ()
    if intake.conditions is None:
        return (Reason(ReasonCode.MDD_NOT_ON_RECORD, "Conditions not read from the EHR (MDD diagnosis not checked)",
                       REVIEW),)
    has_mdd = any(
        condition.is_active and any(condition.has_code(code) for code in settings.mdd_condition_codes)
        for condition in intake.conditions
    )
    if has_mdd:
        return ()
    return (Reason(ReasonCode.MDD_NOT_ON_RECORD, "No active major depressive disorder diagnosis on record", REVIEW),)


def _override_for(intake: Intake, target: OverrideTarget, key: str) -> ClinicianOverride | None:
    return next((o for o in intake.overrides if o.target is target and o.key == key), None)


def _overridden(override: ClinicianOverride) -> str:
    return f"overridden by {override.overridden_by} at {_when(override.overridden_at)}: {override.reason}"


def _when(moment: datetime) -> str:
    """A time in a reason as on every page and in the note (the reasons are the RiskAssessment's rationale in the
    EHR): 24-hour clinic time with its zone and offset (``shared/clinic_time.py``)."""
    return format_clinic_time(moment, current_clinic_zone())
