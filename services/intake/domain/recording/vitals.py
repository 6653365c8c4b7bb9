"""Baseline vital signs and body measures, from the EHR or entered at the intake."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from services.intake.domain.checks import require_aware, require_number
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.plausibility import check_ehr_time, check_part_time
from services.intake.domain.recording.guards import require_in_progress
from services.intake.domain.settings import IntakeSettings
from services.intake.domain.vitals import READING_RANGE_SETTINGS, BaselineVitals, BloodPressure, VitalReading


def record_vitals(intake: Intake, vitals: BaselineVitals, settings: IntakeSettings,
                  now: datetime | None = None) -> Intake:
    """Record the readings ``vitals`` carries (each replaces the earlier reading of that measure; measures not
    given keep theirs). Each value must lie in the clinic's plausible range, each time be plausible (a reading from
    the EHR within the patient's life, one entered here within the intake's window)."""
    require_in_progress(intake)
    if vitals.blood_pressure is not None:
        _check_blood_pressure(vitals.blood_pressure, settings)
        _check_reading_time(intake, vitals.blood_pressure, "vitals.blood_pressure.measured_at", settings, now)
    for measure, range_setting in READING_RANGE_SETTINGS.items():
        reading: VitalReading | None = getattr(vitals, measure)
        if reading is not None:
            _check_reading(reading, f"vitals.{measure}", settings.plausible_range(range_setting))
            _check_reading_time(intake, reading, f"vitals.{measure}.measured_at", settings, now)
    return dataclasses.replace(intake, vitals=intake.vitals.merged_with(vitals))


def _check_reading_time(intake: Intake, reading: VitalReading | BloodPressure, field: str, settings: IntakeSettings,
                        now: datetime | None) -> None:
    if reading.ehr_observation_id is not None:
        if now is not None:
            check_ehr_time(intake, reading.measured_at, field, settings, now)
        return
    check_part_time(intake, reading.measured_at, field, settings, now)


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
