"""TRD history: prior antidepressant trials and the clinic's TRD rule.

Default rule (CLINICAL.md): at least 2 adequate trials in the current episode without >= 50% improvement. A trial
is adequate when the clinician judged the dose adequate and it lasted at least the minimum weeks (default 6: a
default the clinic must confirm). The rule's numbers come from ``IntakeSettings`` and are stored with the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from services.intake.domain.medications import MedicationEntry, name_matches
from shared.records import JsonRecord

if TYPE_CHECKING:
    from services.intake.domain.settings import IntakeSettings


@dataclass(frozen=True)
class AntidepressantTrial(JsonRecord):
    drug_name: str
    dose_text: str | None
    duration_weeks: float
    adequate_dose: bool  # the clinician's judgement that the dose was therapeutic
    improvement_pct: float  # improvement from the trial's baseline; >= the response threshold is a response
    current_episode: bool


@dataclass(frozen=True)
class TrdAssessment(JsonRecord):
    """The rule's result with the numbers it used, so a stored decision explains itself after settings change."""

    adequate_trials: int
    failed_adequate_trials: int
    meets_trd: bool
    min_adequate_trials: int
    response_threshold_pct: float
    min_adequate_trial_weeks: float


@dataclass(frozen=True)
class TrialCandidate(JsonRecord):
    """An antidepressant from the EHR history the clinician can confirm as a trial (adding adequacy and outcome)."""

    drug_name: str
    dose_text: str | None
    duration_weeks: float | None
    ehr_medication_statement_id: str | None


def is_adequate(trial: AntidepressantTrial, settings: IntakeSettings) -> bool:
    return trial.adequate_dose and trial.duration_weeks >= settings.trd_min_adequate_trial_weeks


def assess_trd(trials: tuple[AntidepressantTrial, ...], settings: IntakeSettings) -> TrdAssessment:
    adequate = [t for t in trials if t.current_episode and is_adequate(t, settings)]
    failed = [t for t in adequate if t.improvement_pct < settings.trd_response_threshold_pct]
    return TrdAssessment(
        adequate_trials=len(adequate),
        failed_adequate_trials=len(failed),
        meets_trd=len(failed) >= settings.trd_min_adequate_trials,
        min_adequate_trials=settings.trd_min_adequate_trials,
        response_threshold_pct=settings.trd_response_threshold_pct,
        min_adequate_trial_weeks=settings.trd_min_adequate_trial_weeks,
    )


def prior_trial_candidates(
    medications: tuple[MedicationEntry, ...], antidepressant_terms: tuple[str, ...], as_of: date
) -> tuple[TrialCandidate, ...]:
    """Antidepressants in the medication history (current or past), with their duration in weeks."""
    return tuple(
        TrialCandidate(m.drug_name, m.dose_text, m.duration_weeks(as_of), m.ehr_medication_statement_id)
        for m in medications
        if m.status not in ("entered-in-error", "not-taken")
        and any(name_matches(m.drug_name, term) for term in antidepressant_terms)
    )
