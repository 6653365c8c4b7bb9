"""What the service layer is asked to do, as plain values: the web layer builds these from request bodies, so the
handlers know nothing of Flask or pydantic."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.orders.domain.settings import WeightBasis


@dataclass(frozen=True)
class OverrideRequest:
    """A prescriber's documented decision to exceed the clinic's maximum mg/kg (dated by the server)."""

    reason: str
    authorised_by: str


@dataclass(frozen=True)
class PreviewDose:
    patient_id: str
    mg_per_kg: float | None = None
    duration_min: int | None = None
    weight_basis: WeightBasis | None = None  # None: the clinic's basis
    override: OverrideRequest | None = None


@dataclass(frozen=True)
class CreateOrder:
    patient_id: str
    start_date: date
    created_by: str
    mg_per_kg: float | None = None
    duration_min: int | None = None
    infusions_per_week: int | None = None
    infusion_count: int | None = None
    weight_basis: WeightBasis | None = None
    override: OverrideRequest | None = None


@dataclass(frozen=True)
class ChangeOrder:
    """sign / hold / resume / cancel: who and (where the step needs one) why; for a signature, what the prescriber
    attested (shared/roles.py ATTESTATIONS), kept with the signature in the order's history."""

    order_id: str
    by: str
    reason: str | None = None
    attestation: str | None = None
