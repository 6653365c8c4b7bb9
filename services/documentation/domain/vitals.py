"""One set of vital signs taken at one moment, from a clinician at the chair or from the EHR / a device."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_positive, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person


class VitalsSource(enum.Enum):
    """Where a reading came from: ``ehr`` readings (device feeds) are already in the EHR and are not sent back."""

    CLINICIAN = "clinician"
    EHR = "ehr"


@dataclass(frozen=True)
class VitalsReading(DocumentationRecord):
    """Any subset of BP, heart rate, SpO2, respiratory rate and RASS (a device may send one); at least one is present.

    ``ehr_observation_ids`` are the EHR's Observation ids for an ``ehr`` reading, so it is referenced, not copied.
    """

    reading_id: str
    measured_at: datetime
    recorded_by: Person
    systolic_mmhg: int | None = None
    diastolic_mmhg: int | None = None
    heart_rate_per_min: int | None = None
    spo2_percent: float | None = None
    respiratory_rate_per_min: int | None = None
    # Sedation on the Richmond Agitation-Sedation Scale (Sessler 2002): -5 unarousable … 0 alert and calm … +4.
    rass_score: int | None = None
    source: VitalsSource = VitalsSource.CLINICIAN
    ehr_observation_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_text(self.reading_id, "reading_id")
        require_aware(self.measured_at, "measured_at")
        require_person(self.recorded_by, "recorded_by")
        measured = [name for name in _MEASURES if getattr(self, name) is not None]
        if not measured and self.rass_score is None:
            raise DocumentationInputError("systolic_mmhg", "a reading needs at least one vital sign")
        for name in measured:
            require_positive(getattr(self, name), name)
        if (self.systolic_mmhg is None) != (self.diastolic_mmhg is None):
            missing = "diastolic_mmhg" if self.diastolic_mmhg is None else "systolic_mmhg"
            raise DocumentationInputError(missing, "blood pressure needs both systolic and diastolic")
        if self.systolic_mmhg is not None and self.diastolic_mmhg >= self.systolic_mmhg:  # type: ignore[operator]
            raise DocumentationInputError("diastolic_mmhg", "must be below systolic")
        if self.rass_score is not None and (
            isinstance(self.rass_score, bool) or not isinstance(self.rass_score, int)
            or not RASS_MIN <= self.rass_score <= RASS_MAX
        ):
            raise DocumentationInputError(
                "rass_score", f"RASS is scored {RASS_MIN} to +{RASS_MAX}, got {self.rass_score!r}")
        if self.spo2_percent is not None and self.spo2_percent > 100:
            raise DocumentationInputError("spo2_percent", f"a saturation cannot exceed 100%, got {self.spo2_percent}")

    @property
    def has_blood_pressure(self) -> bool:
        return self.systolic_mmhg is not None

    def blood_pressure_text(self) -> str:
        return f"{self.systolic_mmhg}/{self.diastolic_mmhg} mmHg" if self.has_blood_pressure else "BP not taken"


RASS_MIN, RASS_MAX = -5, 4
# A set of vital signs charted at the chair: blood pressure, heart rate and SpO2 are taken together (the alert
# thresholds and the missed-reading rule assume each reading has all three; a device in the EHR may send fewer).
CHAIR_MEASURES = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent")


def missing_chair_measures(values: Mapping[str, object]) -> list[str]:
    """The measures of ``CHAIR_MEASURES`` not given (None or empty) in a reading charted at the chair."""
    return [name for name in CHAIR_MEASURES if values.get(name) in (None, "")]


_MEASURES = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent", "respiratory_rate_per_min")
