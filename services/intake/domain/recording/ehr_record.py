"""What the EHR pre-fills: the patient summary, the problem list and the medication list, as read when the intake
starts."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from services.intake.domain.checks import require_text
from services.intake.domain.conditions import ConditionRecord
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.model import Intake
from services.intake.domain.patient import PatientSummary
from services.intake.domain.plausibility import check_number
from services.intake.domain.recording.guards import plausible_bounds, require_in_progress
from services.intake.domain.settings import IntakeSettings


def record_patient(intake: Intake, patient: PatientSummary, settings: IntakeSettings | None = None) -> Intake:
    settings = settings or IntakeSettings()
    require_in_progress(intake)
    if patient.ehr_patient_id != intake.patient_id:
        raise IntakeInputError("patient.ehr_patient_id", "the summary is for a different patient")
    if patient.age_years is not None and patient.age_years < 0:
        raise IntakeInputError("patient.age_years", "age cannot be negative")
    if patient.age_years is not None:
        check_number(patient.age_years, "patient.age_years",
                     plausible_bounds(settings.patient_age_plausible_range_years),
                     "years")
    return dataclasses.replace(intake, patient=patient)


def record_conditions(intake: Intake, conditions: Sequence[ConditionRecord]) -> Intake:
    """The EHR problem list as read now (replaces the previous list)."""
    require_in_progress(intake)
    for index, condition in enumerate(conditions):
        if not condition.codings and not condition.text:
            raise IntakeInputError(f"conditions[{index}].code", "a condition needs a coding or text")
    return dataclasses.replace(intake, conditions=tuple(conditions))


def record_medications(intake: Intake, medications: Sequence[MedicationEntry]) -> Intake:
    """The medication list as read now (replaces the previous list); screened for interacting drugs at decision."""
    require_in_progress(intake)
    for index, medication in enumerate(medications):
        require_text(medication.drug_name, f"medications[{index}].drug_name")
        require_text(medication.status, f"medications[{index}].status")
    return dataclasses.replace(intake, medications=tuple(medications))
