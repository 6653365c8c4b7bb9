"""The treatment-resistance history: the confirmed antidepressant trials, and a prescriber's urgent-use override of
the TRD rule."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from services.intake.domain.checks import optional_text, require_aware, require_number, require_text, require_person
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.plausibility import check_number, check_part_time
from services.intake.domain.recording.guards import plausible_bounds, require_in_progress
from services.intake.domain.reviews import UrgentUseOverride
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.trials import AntidepressantTrial


def record_trials(intake: Intake, trials: Sequence[AntidepressantTrial],
                  settings: IntakeSettings | None = None) -> Intake:
    """The TRD history as confirmed by the clinician (replaces the previous list; an empty list means none)."""
    settings = settings or IntakeSettings()
    require_in_progress(intake)
    checked = tuple(_checked_trial(trial, f"trials[{index}]", settings) for index, trial in enumerate(trials))
    return dataclasses.replace(intake, trials=checked)


def _checked_trial(trial: AntidepressantTrial, field: str, settings: IntakeSettings) -> AntidepressantTrial:
    drug_name = require_text(trial.drug_name, f"{field}.drug_name")
    dose_text = optional_text(trial.dose_text, f"{field}.dose_text")
    weeks = require_number(trial.duration_weeks, f"{field}.duration_weeks")
    if weeks < 0:
        raise IntakeInputError(f"{field}.duration_weeks", "weeks cannot be negative")
    check_number(weeks, f"{field}.duration_weeks", plausible_bounds(settings.trial_duration_plausible_range_weeks),
                 "weeks")
    improvement_pct = require_number(trial.improvement_pct, f"{field}.improvement_pct")
    if improvement_pct > 100:
        raise IntakeInputError(f"{field}.improvement_pct", "improvement cannot exceed 100%")
    check_number(improvement_pct, f"{field}.improvement_pct",
                 plausible_bounds(settings.trial_improvement_plausible_range_pct), "%")
    for flag in ("adequate_dose", "current_episode"):
        if not isinstance(getattr(trial, flag), bool):
            raise IntakeInputError(f"{field}.{flag}", "must be yes (true) or no (false)")
    return AntidepressantTrial(
        drug_name, dose_text, weeks, trial.adequate_dose, improvement_pct, trial.current_episode
    )


def record_urgent_use(intake: Intake, override: UrgentUseOverride, settings: IntakeSettings,
                      now: datetime | None = None) -> Intake:
    """A prescriber sets the TRD rule aside for urgent use, with the documented reason (replaces an earlier one).
    The caller checks the prescriber role (shared/roles.py) and says so in ``prescriber_checked``."""
    require_in_progress(intake)
    if not settings.urgent_use_allowed:
        raise IntakeInputError("urgent_use", "the clinic does not allow the urgent-use pathway (urgent_use_allowed)")
    overridden_by = require_person(override.overridden_by, "urgent_use.overridden_by")
    require_aware(override.overridden_at, "urgent_use.overridden_at")
    check_part_time(intake, override.overridden_at, "urgent_use.overridden_at", settings, now)
    reason = require_text(override.reason, "urgent_use.reason")
    if not isinstance(override.prescriber_checked, bool):
        raise IntakeInputError("urgent_use.prescriber_checked", "must be yes (true) or no (false)")
    checked = UrgentUseOverride(overridden_by, override.overridden_at, reason, override.prescriber_checked)
    return dataclasses.replace(intake, urgent_use=checked)
