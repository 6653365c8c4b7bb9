"""The infusion order record: one order per series, carrying its dose calculation and the history of every status
change (who, when, why). Status values are the FHIR MedicationRequest codes, so translators map them 1:1."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.people import Person
from shared.records import JsonRecord
from services.orders.domain.dose import DoseCalculation
from services.orders.domain.errors import Violation
from services.orders.domain.indication import CLINIC_INDICATION, Indication
from services.orders.domain.series import TreatmentSeries
from services.orders.domain.timestamps import require_aware


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
class StatusChange(JsonRecord):
    """One lifecycle step; ``from_status`` is None for the creation."""

    from_status: OrderStatus | None
    to_status: OrderStatus
    changed_by: Person
    changed_at: datetime
    reason: str | None = None
    attestation: str | None = None  # the signer's attestation (shared/roles.py); None before prescribers attested

    def __post_init__(self) -> None:
        require_aware(self.changed_at, "changed_at")


@dataclass(frozen=True)
class InfusionOrder(JsonRecord):
    order_id: str
    patient_id: str
    series_id: str
    intake_id: str
    status: OrderStatus
    calculation: DoseCalculation
    history: tuple[StatusChange, ...]
    source: OrderSource = OrderSource.KETALINK
    ehr_request_id: str | None = None  # the EHR's MedicationRequest id for a CPOE order
    indication: Indication | None = None  # None only in orders stored before indications: see ``reason``

    @property
    def reason(self) -> Indication:
        """The order's indication (orders stored before indications were all for the clinic's indication)."""
        return self.indication if self.indication is not None else CLINIC_INDICATION

    @property
    def created_at(self) -> datetime:
        return self.history[0].changed_at

    @property
    def created_by(self) -> Person:
        return self.history[0].changed_by

    @property
    def signing(self) -> StatusChange | None:
        """The change that signed the order (draft → active); None while it is a draft or was never signed."""
        return next((c for c in self.history
                     if c.from_status is OrderStatus.DRAFT and c.to_status is OrderStatus.ACTIVE), None)


@dataclass(frozen=True)
class OrderWithSeries(JsonRecord):
    """An order and its series, changed together by every lifecycle step so they never disagree."""

    order: InfusionOrder
    series: TreatmentSeries


def running_series_violation(order_id: str, series_id: str, status: str) -> Violation:
    """A patient with a signed series (active or on hold) gets no second one: it would double the treatment."""
    return Violation("patient_id", f"the patient already has a signed series ({series_id}, order {order_id}, "
                                   f"{status}); cancel or complete it before ordering another")
