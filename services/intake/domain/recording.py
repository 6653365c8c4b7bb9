"""Record each part of an intake: validate all of the input first, then return a new ``Intake`` (never half-applied).

Every function refuses a decided intake (IntakeStateError) and raises IntakeInputError naming the bad field.
Times and numbers are checked for plausibility (domain/plausibility.py): ``now`` (the server's clock, given by the
service layer) bounds every time from above; the intake's start bounds it from below.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from services.intake.domain.checks import optional_text, require_aware, require_number, require_text
from services.intake.domain.conditions import ConditionRecord
from services.intake.domain.consent import ConsentDecision, ConsentRecord, ConsentSigner, consent_element_label
from services.intake.domain.contraindications import (
    ContraindicationAnswer,
    ContraindicationClass,
    ContraindicationScreen,
    Presence,
    contraindication_label,
)
from services.intake.domain.cssrs import CssrsItem, CssrsRisk, CssrsScreen, cssrs_risk
from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.medications import MedicationEntry, interacting_drug_flags
from services.intake.domain.model import Intake, IntakeStatus, Reopening
from services.intake.domain.overrides import ClinicianOverride, OverrideTarget
from services.intake.domain.patient import PatientSummary, Referral
from services.intake.domain.plausibility import check_ehr_time, check_number, check_part_time
from services.intake.domain.pregnancy import childbearing_potential, why_applicable
from services.intake.domain.reviews import BehaviouralHealthReview, ReviewOutcome, UrgentUseOverride
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import READING_RANGE_SETTINGS, BaselineVitals, BloodPressure, VitalReading
from shared.scales import ScaleError, checked_cssrs_answers


def start_intake(
    intake_id: str, patient_id: str, started_at: datetime, referral: Referral | None = None,
    started_by: str | None = None, settings: IntakeSettings | None = None,
) -> Intake:
    """A new in-progress intake, from an EHR referral or started by a clinician (``referral`` optional). The
    referral's time must be plausible: not after the start (+ clock skew), not older than ``referral_max_age_days``."""
    settings = settings or IntakeSettings()
    intake_id = require_text(intake_id, "intake_id")
    patient_id = require_text(patient_id, "patient_id")
    require_aware(started_at, "started_at")
    started_by = optional_text(started_by, "started_by")
    if referral is not None:
        require_aware(referral.requested_at, "referral.requested_at")
        if referral.patient_id != patient_id:
            raise IntakeInputError("referral.patient_id", "the referral is for a different patient")
        if referral.requested_at > started_at + timedelta(minutes=settings.clock_skew_minutes):
            raise IntakeInputError("referral.requested_at", f"{referral.requested_at.isoformat()} is in the future")
        if (started_at - referral.requested_at).days > settings.referral_max_age_days:
            raise IntakeInputError("referral.requested_at", f"{referral.requested_at.isoformat()} is more than "
                                   f"{settings.referral_max_age_days:g} days before the intake")
    return Intake(intake_id=intake_id, patient_id=patient_id, started_at=started_at, started_by=started_by,
                  referral=referral)


def record_patient(intake: Intake, patient: PatientSummary, settings: IntakeSettings | None = None) -> Intake:
    settings = settings or IntakeSettings()
    _require_in_progress(intake)
    if patient.ehr_patient_id != intake.patient_id:
        raise IntakeInputError("patient.ehr_patient_id", "the summary is for a different patient")
    if patient.age_years is not None and patient.age_years < 0:
        raise IntakeInputError("patient.age_years", "age cannot be negative")
    if patient.age_years is not None:
        check_number(patient.age_years, "patient.age_years", _bounds(settings.patient_age_plausible_range_years),
                     "years")
    return dataclasses.replace(intake, patient=patient)


def record_conditions(intake: Intake, conditions: Sequence[ConditionRecord]) -> Intake:
    """The EHR problem list as read now (replaces the previous list)."""
    _require_in_progress(intake)
    for index, condition in enumerate(conditions):
        if not condition.codings and not condition.text:
            raise IntakeInputError(f"conditions[{index}].code", "a condition needs a coding or text")
    return dataclasses.replace(intake, conditions=tuple(conditions))


def record_medications(intake: Intake, medications: Sequence[MedicationEntry]) -> Intake:
    """The medication list as read now (replaces the previous list); screened for interacting drugs at decision."""
    _require_in_progress(intake)
    for index, medication in enumerate(medications):
        require_text(medication.drug_name, f"medications[{index}].drug_name")
        require_text(medication.status, f"medications[{index}].status")
    return dataclasses.replace(intake, medications=tuple(medications))


def record_trials(intake: Intake, trials: Sequence[AntidepressantTrial],
                  settings: IntakeSettings | None = None) -> Intake:
    """The TRD history as confirmed by the clinician (replaces the previous list; an empty list means none)."""
    settings = settings or IntakeSettings()
    _require_in_progress(intake)
    checked = tuple(_checked_trial(trial, f"trials[{index}]", settings) for index, trial in enumerate(trials))
    return dataclasses.replace(intake, trials=checked)


def record_contraindications(
    intake: Intake,
    answers: Sequence[ContraindicationAnswer],
    screened_at: datetime,
    screened_by: str,
    settings: IntakeSettings,
    now: datetime | None = None,
) -> Intake:
    """The screen (replaces the previous one). Keys must be configured items; an item left out counts as not
    answered at decision time. "Not applicable" is accepted only for a sex- and age-dependent item (pregnancy) of a
    patient the EHR record shows cannot be of child-bearing potential (domain/pregnancy.py)."""
    _require_in_progress(intake)
    require_aware(screened_at, "contraindications.screened_at")
    check_part_time(intake, screened_at, "contraindications.screened_at", settings, now)
    screened_by = require_text(screened_by, "contraindications.screened_by")
    seen: set[str] = set()
    checked = []
    for index, answer in enumerate(answers):
        field = f"contraindications.answers[{index}]"
        if settings.contraindication_class(answer.key) is None:
            raise IntakeInputError(f"{field}.key", f"unknown contraindication {answer.key!r}")
        if answer.key in seen:
            raise IntakeInputError(f"{field}.key", f"{answer.key!r} is answered twice")
        seen.add(answer.key)
        presence = _enum(Presence, answer.presence, f"{field}.presence")
        if presence is Presence.NOT_APPLICABLE:
            _check_not_applicable(intake, answer.key, f"{field}.presence", settings)
        checked.append(ContraindicationAnswer(answer.key, presence, optional_text(answer.note, f"{field}.note")))
    screen = ContraindicationScreen(tuple(checked), screened_at, screened_by)
    return dataclasses.replace(intake, contraindications=screen, overrides=_overrides_kept(intake, screen))


def _overrides_kept(intake: Intake, screen: ContraindicationScreen) -> tuple[ClinicianOverride, ...]:
    """The overrides that still hold under a new screen: an override of a contraindication was given for the
    answer it saw (e.g. "unknown", "negative hCG today"), so it goes when the new screen answers that item
    differently (as a new C-SSRS screen needs a new review). Drug-class overrides are not the screen's."""
    before = intake.contraindications

    def answered_alike(key: str) -> bool:
        old = before.answer_for(key) if before is not None else None
        new = screen.answer_for(key)
        return old is not None and new is not None and old.presence is new.presence

    return tuple(o for o in intake.overrides
                 if o.target is not OverrideTarget.CONTRAINDICATION or answered_alike(o.key))


def record_override(intake: Intake, override: ClinicianOverride, settings: IntakeSettings) -> Intake:
    """A clinician's documented override of a present/unknown relative contraindication or a flagged (non-blocking)
    interacting drug class; replaces an earlier override of the same item. Absolute items cannot be overridden."""
    _require_in_progress(intake)
    target = _enum(OverrideTarget, override.target, "override.target")
    overridden_by = require_text(override.overridden_by, "override.overridden_by")
    require_aware(override.overridden_at, "override.overridden_at")
    reason = require_text(override.reason, "override.reason")
    if target is OverrideTarget.CONTRAINDICATION:
        _check_contraindication_override(intake, override.key, settings)
    else:
        _check_drug_class_override(intake, override.key, settings)
    checked = ClinicianOverride(target, override.key, overridden_by, override.overridden_at, reason)
    kept = tuple(o for o in intake.overrides if (o.target, o.key) != (target, override.key))
    return dataclasses.replace(intake, overrides=kept + (checked,))


def record_vitals(intake: Intake, vitals: BaselineVitals, settings: IntakeSettings,
                  now: datetime | None = None) -> Intake:
    """Record the readings ``vitals`` carries (each replaces the earlier reading of that measure; measures not
    given keep theirs). Each value must lie in the clinic's plausible range, each time be plausible (a reading from
    the EHR within the patient's life, one entered here within the intake's window)."""
    _require_in_progress(intake)
    if vitals.blood_pressure is not None:
        _check_blood_pressure(vitals.blood_pressure, settings)
        _check_reading_time(intake, vitals.blood_pressure, "vitals.blood_pressure.measured_at", settings, now)
    for measure, range_setting in READING_RANGE_SETTINGS.items():
        reading: VitalReading | None = getattr(vitals, measure)
        if reading is not None:
            _check_reading(reading, f"vitals.{measure}", settings.plausible_range(range_setting))
            _check_reading_time(intake, reading, f"vitals.{measure}.measured_at", settings, now)
    return dataclasses.replace(intake, vitals=intake.vitals.merged_with(vitals))


def record_phq9(intake: Intake, item_scores: Sequence[int | None], answered_at: datetime,
                settings: IntakeSettings | None = None, now: datetime | None = None) -> Intake:
    _require_in_progress(intake)
    response = Phq9Response.checked(item_scores, answered_at)
    check_part_time(intake, answered_at, "phq9.answered_at", settings or IntakeSettings(), now)
    return dataclasses.replace(intake, phq9=response)


def record_madrs(
    intake: Intake, item_scores: Sequence[int | None], rated_at: datetime, rated_by: str | None = None,
    settings: IntakeSettings | None = None, now: datetime | None = None,
) -> Intake:
    _require_in_progress(intake)
    rated_by = optional_text(rated_by, "madrs.rated_by")
    rating = MadrsRating.checked(item_scores, rated_at, rated_by)
    check_part_time(intake, rated_at, "madrs.rated_at", settings or IntakeSettings(), now)
    return dataclasses.replace(intake, madrs=rating)


def record_cssrs(
    intake: Intake,
    answers: Mapping[str | CssrsItem, bool | None],
    answered_at: datetime,
    settings: IntakeSettings,
    now: datetime | None = None,
) -> Intake:
    """Answers by item key (None or absent = not asked). Required items follow the screener's skip logic. A new
    screen sets aside the review of the previous one: a moderate or high result needs its own review."""
    _require_in_progress(intake)
    screen = checked_cssrs(answers, answered_at, settings)
    check_part_time(intake, answered_at, "cssrs.answered_at", settings, now)
    return dataclasses.replace(intake, cssrs=screen, cssrs_review=None)


def record_cssrs_review(intake: Intake, review: BehaviouralHealthReview, settings: IntakeSettings,
                        now: datetime | None = None) -> Intake:
    """A documented behavioural-health review of the current C-SSRS screen (moderate or high risk only): who (the
    signed-in clinician), when, the outcome and a note. Replaces an earlier review of the same screen."""
    _require_in_progress(intake)
    screen = intake.cssrs
    if screen is None:
        raise IntakeInputError("cssrs_review", "record the C-SSRS screener before its review")
    if screen.risk.rank < CssrsRisk.MODERATE.rank:
        raise IntakeInputError("cssrs_review", f"the C-SSRS screener risk is {screen.risk.value}: only a moderate or "
                                               "high risk is reviewed")
    reviewed_by = require_text(review.reviewed_by, "cssrs_review.reviewed_by")
    require_aware(review.reviewed_at, "cssrs_review.reviewed_at")
    check_part_time(intake, review.reviewed_at, "cssrs_review.reviewed_at", settings, now)
    if review.reviewed_at < screen.answered_at:
        raise IntakeInputError("cssrs_review.reviewed_at", "the review cannot be before the screen it reviews")
    outcome = _enum(ReviewOutcome, review.outcome, "cssrs_review.outcome")
    note = require_text(review.note, "cssrs_review.note")
    checked = BehaviouralHealthReview(reviewed_by, review.reviewed_at, outcome, note, screen.risk, screen.answered_at)
    return dataclasses.replace(intake, cssrs_review=checked)


def record_urgent_use(intake: Intake, override: UrgentUseOverride, settings: IntakeSettings,
                      now: datetime | None = None) -> Intake:
    """A prescriber sets the TRD rule aside for urgent use, with the documented reason (replaces an earlier one).
    The caller checks the prescriber role (shared/roles.py) and says so in ``prescriber_checked``."""
    _require_in_progress(intake)
    if not settings.urgent_use_allowed:
        raise IntakeInputError("urgent_use", "the clinic does not allow the urgent-use pathway (urgent_use_allowed)")
    overridden_by = require_text(override.overridden_by, "urgent_use.overridden_by")
    require_aware(override.overridden_at, "urgent_use.overridden_at")
    check_part_time(intake, override.overridden_at, "urgent_use.overridden_at", settings, now)
    reason = require_text(override.reason, "urgent_use.reason")
    if not isinstance(override.prescriber_checked, bool):
        raise IntakeInputError("urgent_use.prescriber_checked", "must be yes (true) or no (false)")
    checked = UrgentUseOverride(overridden_by, override.overridden_at, reason, override.prescriber_checked)
    return dataclasses.replace(intake, urgent_use=checked)


def checked_cssrs(
    answers: Mapping[str | CssrsItem, bool | None], answered_at: datetime, settings: IntakeSettings
) -> CssrsScreen:
    """The validated screen with its risk level (also used by the QuestionnaireResponse reader)."""
    require_aware(answered_at, "cssrs.answered_at")
    try:
        ordered = checked_cssrs_answers(answers)
    except ScaleError as error:
        raise IntakeInputError(f"cssrs.{error.field}", error.message) from None
    given = {answer.item: answer.answer for answer in ordered}
    risk = cssrs_risk(given, settings.cssrs_high_risk_items, settings.cssrs_moderate_risk_items)
    return CssrsScreen(ordered, answered_at, risk)


def record_consent(intake: Intake, consent: ConsentRecord, settings: IntakeSettings | None = None,
                   now: datetime | None = None) -> Intake:
    """The consent with the elements explained and acknowledged: each must be one of the clinic's
    ``consent_elements``, once; the decision lists those still missing."""
    settings = settings or IntakeSettings()
    _require_in_progress(intake)
    decision = _enum(ConsentDecision, consent.decision, "consent.decision")
    signed_by = _enum(ConsentSigner, consent.signed_by, "consent.signed_by")
    signer_name = optional_text(consent.signer_name, "consent.signer_name")
    if signed_by is ConsentSigner.LEGAL_REPRESENTATIVE and signer_name is None:
        raise IntakeInputError("consent.signer_name", "the legal representative's name is required")
    require_aware(consent.signed_at, "consent.signed_at")
    check_part_time(intake, consent.signed_at, "consent.signed_at", settings, now)
    version = require_text(consent.consent_text_version, "consent.consent_text_version")
    if not isinstance(consent.ride_home_agreed, bool):
        raise IntakeInputError("consent.ride_home_agreed", "must be yes (true) or no (false)")
    elements = _checked_consent_elements(consent.elements_acknowledged, settings)
    checked = ConsentRecord(decision, signed_by, signer_name, consent.signed_at, version, consent.ride_home_agreed,
                            elements)
    return dataclasses.replace(intake, consent=checked)


def reopen_intake(intake: Intake, reopened_by: str, reopened_at: datetime, reason: str) -> Intake:
    """Back to in-progress so parts can change; the set-aside decision is kept with who reopened it and when."""
    if intake.status is not IntakeStatus.DECIDED or intake.decision is None:
        raise IntakeStateError("only a decided intake can be reopened")
    reopening = Reopening(
        require_text(reopened_by, "reopened_by"),
        require_aware(reopened_at, "reopened_at"),
        require_text(reason, "reason"),
        intake.decision,
    )
    return dataclasses.replace(
        intake, status=IntakeStatus.IN_PROGRESS, decision=None, reopenings=intake.reopenings + (reopening,)
    )


def _require_in_progress(intake: Intake) -> None:
    if intake.status is not IntakeStatus.IN_PROGRESS:
        raise IntakeStateError("the intake is decided; reopen it before recording changes")


def _enum(enum_type, value, field: str):
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise IntakeInputError(field, f"{value!r} is not one of {allowed}") from None


def _checked_trial(trial: AntidepressantTrial, field: str, settings: IntakeSettings) -> AntidepressantTrial:
    drug_name = require_text(trial.drug_name, f"{field}.drug_name")
    dose_text = optional_text(trial.dose_text, f"{field}.dose_text")
    weeks = require_number(trial.duration_weeks, f"{field}.duration_weeks")
    if weeks < 0:
        raise IntakeInputError(f"{field}.duration_weeks", "weeks cannot be negative")
    check_number(weeks, f"{field}.duration_weeks", _bounds(settings.trial_duration_plausible_range_weeks), "weeks")
    improvement_pct = require_number(trial.improvement_pct, f"{field}.improvement_pct")
    if improvement_pct > 100:
        raise IntakeInputError(f"{field}.improvement_pct", "improvement cannot exceed 100%")
    check_number(improvement_pct, f"{field}.improvement_pct",
                 _bounds(settings.trial_improvement_plausible_range_pct), "%")
    for flag in ("adequate_dose", "current_episode"):
        if not isinstance(getattr(trial, flag), bool):
            raise IntakeInputError(f"{field}.{flag}", "must be yes (true) or no (false)")
    return AntidepressantTrial(
        drug_name, dose_text, weeks, trial.adequate_dose, improvement_pct, trial.current_episode
    )


def _check_contraindication_override(intake: Intake, key: str, settings: IntakeSettings) -> None:
    item_class = settings.contraindication_class(key)
    if item_class is None:
        raise IntakeInputError("override.key", f"unknown contraindication {key!r}")
    if item_class is ContraindicationClass.ABSOLUTE:
        raise IntakeInputError(
            "override.key", f"{contraindication_label(key)} is an absolute contraindication and cannot be overridden"
        )
    answer = intake.contraindications.answer_for(key) if intake.contraindications else None
    if answer is None or answer.presence in (Presence.ABSENT, Presence.NOT_APPLICABLE):
        raise IntakeInputError("override.key", f"{contraindication_label(key)} is not present or unknown in the screen")


def _check_not_applicable(intake: Intake, key: str, field: str, settings: IntakeSettings) -> None:
    if key not in settings.sex_and_age_dependent_contraindications:
        raise IntakeInputError(field, f"{contraindication_label(key)} cannot be 'not applicable': answer present, "
                                      "absent or unknown")
    if childbearing_potential(intake.patient, settings):
        raise IntakeInputError(field, f"{contraindication_label(key)} applies to this patient "
                                      f"({why_applicable(intake.patient)}): answer present, absent or unknown")


def _checked_consent_elements(elements: object, settings: IntakeSettings) -> tuple[str, ...]:
    if not isinstance(elements, (tuple, list)):
        raise IntakeInputError("consent.elements_acknowledged", "must be a list of consent element keys")
    seen: set[str] = set()
    for index, key in enumerate(elements):
        if key not in settings.consent_elements:
            raise IntakeInputError(f"consent.elements_acknowledged[{index}]",
                                   f"{key!r} is not one of the clinic's consent elements: "
                                   f"{', '.join(settings.consent_elements)}")
        if key in seen:
            raise IntakeInputError(f"consent.elements_acknowledged[{index}]",
                                   f"{consent_element_label(key)} is listed twice")
        seen.add(key)
    return tuple(key for key in settings.consent_elements if key in seen)  # the clinic's order


def _check_reading_time(intake: Intake, reading: VitalReading | BloodPressure, field: str, settings: IntakeSettings,
                        now: datetime | None) -> None:
    if reading.ehr_observation_id is not None:
        if now is not None:
            check_ehr_time(intake, reading.measured_at, field, settings, now)
        return
    check_part_time(intake, reading.measured_at, field, settings, now)


def _bounds(bounds: tuple[float, ...]) -> tuple[float, float]:
    return bounds[0], bounds[1]


def _check_drug_class_override(intake: Intake, drug_class: str, settings: IntakeSettings) -> None:
    if drug_class in settings.blocking_interacting_drug_classes:
        raise IntakeInputError("override.key", f"interacting drug class {drug_class!r} blocks and cannot be overridden")
    flags = interacting_drug_flags(intake.medications or (), settings.interacting_drug_class_terms,
                                   settings.interacting_drug_class_codes)
    if drug_class not in {flag.drug_class for flag in flags}:
        raise IntakeInputError("override.key", f"no current medication is flagged as {drug_class!r}")


def _check_blood_pressure(bp: BloodPressure, settings: IntakeSettings) -> None:
    field = "vitals.blood_pressure"
    systolic = require_number(bp.systolic_mmhg, f"{field}.systolic_mmhg")
    diastolic = require_number(bp.diastolic_mmhg, f"{field}.diastolic_mmhg")
    _check_range(systolic, f"{field}.systolic_mmhg", settings.plausible_range("systolic_plausible_range_mmhg"))
    _check_range(diastolic, f"{field}.diastolic_mmhg", settings.plausible_range("diastolic_plausible_range_mmhg"))
    if systolic <= diastolic:
        raise IntakeInputError(f"{field}.diastolic_mmhg", "diastolic must be below systolic")
    require_aware(bp.measured_at, f"{field}.measured_at")


def _check_reading(reading: VitalReading, field: str, plausible: tuple[float, float]) -> None:
    _check_range(require_number(reading.value, f"{field}.value"), f"{field}.value", plausible)
    require_aware(reading.measured_at, f"{field}.measured_at")


def _check_range(value: float, field: str, plausible: tuple[float, float]) -> None:
    low, high = plausible
    if not low <= value <= high:
        raise IntakeInputError(field, f"{value:g} is outside the plausible range {low:g}-{high:g}")
