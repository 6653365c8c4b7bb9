"""The signed infusion order as the documentation service sees it (from the ``order-signed`` event).

Sessions are created from its scheduled occurrences; the pre-check, administration record and note read its dose.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_positive, require_text
from services.documentation.domain.errors import DocumentationInputError, input_field
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person


class OrderStatus(enum.Enum):
    """MedicationRequest.status values the orders service sends."""

    ACTIVE = "active"
    ON_HOLD = "on-hold"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class OccurrenceStatus(enum.Enum):
    """CarePlan.activity.detail.status values for one infusion of the series."""

    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ScheduledOccurrence(DocumentationRecord):
    """One infusion of the series: its number (1-based, CarePlan activity order) and scheduled window."""

    number: int
    window_start: datetime
    window_end: datetime
    status: OccurrenceStatus = OccurrenceStatus.SCHEDULED

    def __post_init__(self) -> None:
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise DocumentationInputError("number", f"must be 1 or more, got {self.number!r}")
        require_aware(self.window_start, "window_start")
        require_aware(self.window_end, "window_end")
        if self.window_end <= self.window_start:
            raise DocumentationInputError("window_end", "must be after window_start")


@dataclass(frozen=True)
class ActiveOrder(DocumentationRecord):
    """Order id, series id, patient, status, ordered dose and pump settings, and the series' occurrences.

    ``dose_calculation_text`` is the order's own human-readable calculation (dosageInstruction.text); the note
    quotes it rather than recomputing. ``weight_observation_reference`` is the EHR weight the dose was based on.

    ``product_*`` is the ketamine product the order is drawn from, as the order codes it (its strength from
    ``Medication.ingredient.strength`` or a verified RxNorm code): never assumed from a setting. ``actual_weight_*``
    is the patient's actual body weight the dose was calculated from (the order's contained Observation), which the
    pre-infusion check compares with today's actual weight even when the dose used an ideal, adjusted or capped
    weight. Both are None for orders received before they were carried.
    """

    order_id: str
    series_id: str
    patient_id: str
    status: OrderStatus
    dose_mg_per_kg: float
    dose_mg: float
    duration_min: int
    rate_ml_per_h: float
    infusion_count: int
    occurrences: tuple[ScheduledOccurrence, ...]
    dose_calculation_text: str = ""
    indication: str = ""
    signed_by: Person | None = None  # the prescriber who signed (MedicationRequest.requester)
    authored_at: datetime | None = None
    weight_observation_reference: str = ""
    product_strength_mg_per_ml: float | None = None
    product_display: str = ""
    product_rxnorm_code: str | None = None
    actual_weight_kg: float | None = None
    actual_weight_measured_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("order_id", "series_id", "patient_id"):
            require_text(getattr(self, name), name)
        for name in ("dose_mg_per_kg", "dose_mg", "duration_min", "rate_ml_per_h", "infusion_count"):
            require_positive(getattr(self, name), name)
        if self.authored_at is not None:
            require_aware(self.authored_at, "authored_at")
        for name in ("product_strength_mg_per_ml", "actual_weight_kg"):
            if getattr(self, name) is not None:
                require_positive(getattr(self, name), name)
        if self.actual_weight_measured_at is not None:
            require_aware(self.actual_weight_measured_at, "actual_weight_measured_at")
        if len(self.occurrences) != self.infusion_count:
            raise DocumentationInputError(
                "occurrences", f"{len(self.occurrences)} scheduled windows for {self.infusion_count} infusions"
            )
        for index, occurrence in enumerate(self.occurrences):
            if occurrence.number != index + 1:
                with input_field(f"occurrences[{index}]"):
                    raise DocumentationInputError("number", f"expected {index + 1} (infusion order)")

    @property
    def ordered_volume_ml(self) -> float:
        """Volume the pump delivers at the ordered rate over the ordered duration."""
        return self.rate_ml_per_h * self.duration_min / 60

    @property
    def concentration_mg_per_ml(self) -> float:
        """Concentration of the prepared infusion implied by the order (ordered mg in the ordered volume)."""
        return self.dose_mg / self.ordered_volume_ml

    @property
    def product_text(self) -> str:
        """The product as the note names it, e.g. "ketamine 10 mg/mL injection"."""
        if self.product_strength_mg_per_ml is None:
            return "not stated in the order"
        return self.product_display or f"ketamine {self.product_strength_mg_per_ml:g} mg/mL"

    @property
    def dosing_weight_kg(self) -> float:
        """The weight the dose stands for (mg ÷ mg/kg); actual, ideal or capped weight as the order chose."""
        return self.dose_mg / self.dose_mg_per_kg

    def occurrence(self, number: int) -> ScheduledOccurrence:
        for occurrence in self.occurrences:
            if occurrence.number == number:
                return occurrence
        raise DocumentationInputError("occurrence_number", f"order {self.order_id} has no infusion {number}")
