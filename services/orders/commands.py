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
from shared.people import Person
from shared.roles import ATTESTATIONS, Attested
from services.orders.domain.settings import WeightBasis


@dataclass(frozen=True)
class OverrideRequest:
    """A prescriber's documented decision to exceed the clinic's maximum mg/kg (dated by the server)."""

    reason: str
    authorised_by: Person


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
    created_by: Person
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
    by: Person
    reason: str | None = None
    attestation: str | None = None


# --- request bodies: validated shape, each turned into a command --------------------------------------------------
FhirId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]  # a FHIR resource id
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ClinicianReference = Annotated[str, StringConstraints(
    pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$")]
TYPED_NAME = Field(None, description="Who, by name: read only where SMART is off (local runs). Otherwise the signed-in "
                                     "clinician (the token's fhirUser) is recorded, whatever this says.")
ON_BEHALF_OF = Field(None, description="Only for a backend client (a token without fhirUser): the clinician it acts "
                                       "for, Practitioner/<id>, which must exist in the EHR; a clinician's own token "
                                       "may not name anyone else (403).")
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
MgPerKg = Annotated[float, Field(allow_inf_nan=False)]
WholeMinutes = int
Count = int


class OverrideBody(RequestModel):
    """Needed only above the clinic's maximum mg/kg; dated by the server when the request is made, authorised by
    the clinician who makes the request (``authorised_by``, a name, only where SMART is off)."""

    reason: Reason
    authorised_by: Name | None = TYPED_NAME

    def to_command(self, actor: Person) -> OverrideRequest:
        return OverrideRequest(self.reason, actor)


class DosePreviewBody(RequestModel):
    patient_id: FhirId = Field(description="The EHR Patient id")
    mg_per_kg: MgPerKg | None = Field(None, description="Default: the clinic's (0.5 mg/kg unless configured)")
    duration_min: WholeMinutes | None = Field(None, description="Default: the clinic's (40 min)")
    weight_basis: WeightBasis | None = Field(None, description="Default: the clinic's (actual)")
    override: OverrideBody | None = None
    on_behalf_of: ClinicianReference | None = ON_BEHALF_OF

    def to_command(self, actor: Person | None) -> PreviewDose:
        """``actor``: who authorises the override (None without one)."""
        return PreviewDose(self.patient_id, self.mg_per_kg, self.duration_min, self.weight_basis,
                           None if self.override is None or actor is None else self.override.to_command(actor))


class CreateOrderBody(RequestModel):
    patient_id: FhirId = Field(description="The EHR Patient id")
    start_date: date = Field(description="First day of the induction series (clinic's calendar)")
    created_by: Name | None = TYPED_NAME
    on_behalf_of: ClinicianReference | None = ON_BEHALF_OF
    mg_per_kg: MgPerKg | None = None
    duration_min: WholeMinutes | None = None
    infusions_per_week: Count | None = Field(None, description="Default: the clinic's (2 per week)")
    infusion_count: Count | None = Field(None, description="Default: the clinic's (6 infusions)")
    weight_basis: WeightBasis | None = None
    override: OverrideBody | None = None

    def to_command(self, actor: Person) -> CreateOrder:
        """``actor``: who creates the order (and authorises its override), from the request's SMART context."""
        return CreateOrder(self.patient_id, self.start_date, actor, self.mg_per_kg, self.duration_min,
                           self.infusions_per_week, self.infusion_count, self.weight_basis,
                           None if self.override is None else self.override.to_command(actor))


class SignBody(RequestModel):
    signed_by: Name | None = TYPED_NAME
    on_behalf_of: ClinicianReference | None = ON_BEHALF_OF
    attested: Attested  # a prescriber's statement (shared/roles.py ATTESTATIONS), recorded with the signature

    @property
    def typed_name(self) -> str | None:
        return self.signed_by

    def to_command(self, order_id: str, actor: Person) -> ChangeOrder:
        return ChangeOrder(order_id, actor, attestation=ATTESTATIONS["sign-order"])


class ChangeBody(RequestModel):
    """Hold, resume or cancel: who (the signed-in clinician; ``by`` only where SMART is off) and why."""

    by: Name | None = TYPED_NAME
    on_behalf_of: ClinicianReference | None = ON_BEHALF_OF
    reason: Reason | None = None

    @property
    def typed_name(self) -> str | None:
        return self.by

    def to_command(self, order_id: str, actor: Person) -> ChangeOrder:
        return ChangeOrder(order_id, actor, self.reason)


class HoldBody(ChangeBody):
    reason: Reason


class ResumeBody(ChangeBody):
    reason: Reason | None = None


class CancelBody(ChangeBody):
    reason: Reason
