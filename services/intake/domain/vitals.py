"""Baseline vital signs and body measures, one reading per measure with its own time.

A reading read from the EHR keeps the EHR's Observation id, so the intake references it instead of sending it
back as a new Observation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord


@dataclass(frozen=True)
class VitalReading(JsonRecord):
    value: float
    measured_at: datetime
    ehr_observation_id: str | None = None


@dataclass(frozen=True)
class BloodPressure(JsonRecord):
    systolic_mmhg: float
    diastolic_mmhg: float
    measured_at: datetime
    ehr_observation_id: str | None = None


@dataclass(frozen=True)
class BaselineVitals(JsonRecord):
    blood_pressure: BloodPressure | None = None
    heart_rate_per_min: VitalReading | None = None
    spo2_pct: VitalReading | None = None
    respiratory_rate_per_min: VitalReading | None = None
    weight_kg: VitalReading | None = None
    height_cm: VitalReading | None = None

    def merged_with(self, newer: BaselineVitals) -> BaselineVitals:
        """These vitals with every reading ``newer`` carries replacing the old one; the others are kept."""
        changes = {
            field.name: getattr(newer, field.name)
            for field in dataclasses.fields(newer)
            if getattr(newer, field.name) is not None
        }
        return dataclasses.replace(self, **changes)


# Measure name (as used in field paths) → settings attribute holding its plausible (low, high) range.
READING_RANGE_SETTINGS: dict[str, str] = {
    "heart_rate_per_min": "heart_rate_plausible_range_per_min",
    "spo2_pct": "spo2_plausible_range_pct",
    "respiratory_rate_per_min": "respiratory_rate_plausible_range_per_min",
    "weight_kg": "weight_plausible_range_kg",
    "height_cm": "height_plausible_range_cm",
}
