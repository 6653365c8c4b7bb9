"""Typed inputs of the orders service layer. The commands are plain values (the handlers know nothing of Flask or
pydantic); the request bodies (pydantic; unknown fields are refused so a typo is an error) are what the JSON API and
the order form validate, and each turns into a command. Only shape is checked in a body; clinical ranges are the
domain's, whose messages name the clinic's limits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.api import RequestModel
from shared.roles import ATTESTATIONS, Attested
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


# --- request bodies: validated shape, each turned into a command --------------------------------------------------
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]  # a FHIR resource id
Person = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
MgPerKg = Annotated[float, Field(allow_inf_nan=False)]
WholeMinutes = int
Count = int


class OverrideBody(RequestModel):
    """Needed only above the clinic's maximum mg/kg; dated by the server when the request is made."""

    reason: Reason
    authorised_by: Person

    def to_command(self) -> OverrideRequest:
        return OverrideRequest(self.reason, self.authorised_by)


class DosePreviewBody(RequestModel):
    patient_id: FhirId = Field(description="The EHR Patient id")
    mg_per_kg: MgPerKg | None = Field(None, description="Default: the clinic's (0.5 mg/kg unless configured)")
    duration_min: WholeMinutes | None = Field(None, description="Default: the clinic's (40 min)")
    weight_basis: WeightBasis | None = Field(None, description="Default: the clinic's (actual)")
    override: OverrideBody | None = None

    def to_command(self) -> PreviewDose:
        return PreviewDose(self.patient_id, self.mg_per_kg, self.duration_min, self.weight_basis,
                           None if self.override is None else self.override.to_command())


class CreateOrderBody(RequestModel):
    patient_id: FhirId = Field(description="The EHR Patient id")
    start_date: date = Field(description="First day of the induction series (clinic's calendar)")
    created_by: Person
    mg_per_kg: MgPerKg | None = None
    duration_min: WholeMinutes | None = None
    infusions_per_week: Count | None = Field(None, description="Default: the clinic's (2 per week)")
    infusion_count: Count | None = Field(None, description="Default: the clinic's (6 infusions)")
    weight_basis: WeightBasis | None = None
    override: OverrideBody | None = None

    def to_command(self) -> CreateOrder:
        return CreateOrder(self.patient_id, self.start_date, self.created_by, self.mg_per_kg, self.duration_min,
                           self.infusions_per_week, self.infusion_count, self.weight_basis,
                           None if self.override is None else self.override.to_command())


class SignBody(RequestModel):
    signed_by: Person
    attested: Attested  # a prescriber's statement (shared/roles.py ATTESTATIONS), recorded with the signature

    def to_command(self, order_id: str) -> ChangeOrder:
        return ChangeOrder(order_id, self.signed_by, attestation=ATTESTATIONS["sign-order"])


class HoldBody(RequestModel):
    by: Person
    reason: Reason

    def to_command(self, order_id: str) -> ChangeOrder:
        return ChangeOrder(order_id, self.by, self.reason)


class ResumeBody(RequestModel):
    by: Person
    reason: Reason | None = None

    def to_command(self, order_id: str) -> ChangeOrder:
        return ChangeOrder(order_id, self.by, self.reason)


class CancelBody(RequestModel):
    by: Person
    reason: Reason

    def to_command(self, order_id: str) -> ChangeOrder:
        return ChangeOrder(order_id, self.by, self.reason)
