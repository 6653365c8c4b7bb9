"""The patient facts a dose is calculated from: body weight, height and sex, as read from the EHR.

Values are held in kg and cm; the translators convert lb and inches on the way in (``shared.units``), so the dose
code never sees a pound."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.records import JsonRecord
from services.orders.domain.errors import OrdersInputError
from services.orders.domain.timestamps import require_aware


class Sex(enum.Enum):
    """FHIR administrative gender; the Devine IBW formula is defined only for male and female."""

    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class BodyWeight(JsonRecord):
    value_kg: float
    measured_at: datetime
    observation_id: str | None = None  # the EHR Observation id, sent back as supportingInformation

    def __post_init__(self) -> None:
        if not self.value_kg > 0:
            raise OrdersInputError("weight.value_kg", "body weight must be above 0 kg")
        require_aware(self.measured_at, "weight.measured_at")


@dataclass(frozen=True)
class BodyHeight(JsonRecord):
    value_cm: float
    measured_at: datetime
    observation_id: str | None = None

    def __post_init__(self) -> None:
        if not self.value_cm > 0:
            raise OrdersInputError("height.value_cm", "body height must be above 0 cm")
        require_aware(self.measured_at, "height.measured_at")


Measurement = TypeVar("Measurement", BodyWeight, BodyHeight)


def most_recent(measurements: Iterable[Measurement]) -> Measurement | None:
    """The latest measurement by ``measured_at``; None when there is none (the dose code then refuses)."""
    return max(measurements, key=lambda m: m.measured_at, default=None)
