"""The infusion order record: one order per series, carrying its dose calculation and the history of every status
change (who, when, why). Status values are the FHIR MedicationRequest codes, so translators map them 1:1."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.orders.domain.dose import DoseCalculation
from services.orders.domain.serial import datetime_from_text, datetime_to_text, require_aware
from services.orders.domain.series import TreatmentSeries


class OrderStatus(enum.Enum):
    DRAFT = "draft"
    ACTIVE = "active"  # signed
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OrderSource(enum.Enum):
    KETALINK = "ketalink"  # written and signed in Ketalink
    EHR_CPOE = "ehr-cpoe"  # placed in the EHR's CPOE and accepted against the clinic protocol


@dataclass(frozen=True)
class StatusChange:
    """One lifecycle step; ``from_status`` is None for the creation."""

    from_status: OrderStatus | None
    to_status: OrderStatus
    changed_by: str
    changed_at: datetime
    reason: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.changed_at, "changed_at")

    def to_dict(self) -> dict[str, Any]:
        return {"from_status": None if self.from_status is None else self.from_status.value,
                "to_status": self.to_status.value, "changed_by": self.changed_by,
                "changed_at": datetime_to_text(self.changed_at), "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatusChange:
        from_status = None if data.get("from_status") is None else OrderStatus(data["from_status"])
        return cls(from_status, OrderStatus(data["to_status"]), data["changed_by"],
                   datetime_from_text(data["changed_at"], "changed_at"), data.get("reason"))


@dataclass(frozen=True)
class InfusionOrder:
    order_id: str
    patient_id: str
    series_id: str
    intake_id: str
    status: OrderStatus
    calculation: DoseCalculation
    history: tuple[StatusChange, ...]
    source: OrderSource = OrderSource.KETALINK
    ehr_request_id: str | None = None  # the EHR's MedicationRequest id for a CPOE order

    @property
    def created_at(self) -> datetime:
        return self.history[0].changed_at

    @property
    def created_by(self) -> str:
        return self.history[0].changed_by

    @property
    def signing(self) -> StatusChange | None:
        """The change that signed the order (draft → active); None while it is a draft or was never signed."""
        return next((c for c in self.history
                     if c.from_status is OrderStatus.DRAFT and c.to_status is OrderStatus.ACTIVE), None)

    def to_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "patient_id": self.patient_id, "series_id": self.series_id,
                "intake_id": self.intake_id, "status": self.status.value, "calculation": self.calculation.to_dict(),
                "history": [c.to_dict() for c in self.history], "source": self.source.value,
                "ehr_request_id": self.ehr_request_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InfusionOrder:
        return cls(data["order_id"], data["patient_id"], data["series_id"], data["intake_id"],
                   OrderStatus(data["status"]), DoseCalculation.from_dict(data["calculation"]),
                   tuple(StatusChange.from_dict(c) for c in data["history"]), OrderSource(data["source"]),
                   data.get("ehr_request_id"))


@dataclass(frozen=True)
class OrderWithSeries:
    """An order and its series, changed together by every lifecycle step so they never disagree."""

    order: InfusionOrder
    series: TreatmentSeries

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order.to_dict(), "series": self.series.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrderWithSeries:
        return cls(InfusionOrder.from_dict(data["order"]), TreatmentSeries.from_dict(data["series"]))
