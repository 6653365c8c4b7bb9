"""The draft ketamine MedicationRequest (FHIR R4) the order form composes, coded as this EHR's CPOE codes its
orders (the form a ``cpoe-order-placed`` carries): ordered dose in mg/kg or mg, IV over the duration, one infusion per
fill and the series' other infusions as repeats. A form value out of shape is a ``FormError`` naming the field."""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from deploy.ehr_sandbox.ehr_events import EHR_ORDER_SYSTEM
from deploy.ehr_sandbox.order_entry.settings import OrderEntrySettings
from shared.fhir.codes import (
    KETAMINE_100MG_PER_ML_INJECTION, MAJOR_DEPRESSIVE_DISORDER, ROUTE_INTRAVENOUS, TREATMENT_RESISTANT_DEPRESSION, Code,
)
from shared.fhir.datatypes import codeable_concept, instant, quantity, reference
from shared.fhir.medication import product_medication, product_reference

STRENGTHS_MG_PER_ML = (10.0, 50.0, 100.0)
DOSE_UNITS = ("mg/kg", "mg")
#: The coded reasons the form offers (the EHR's problem-list codes); any other reason is free text.
REASONS: dict[str, Code] = {"trd": TREATMENT_RESISTANT_DEPRESSION, "mdd": MAJOR_DEPRESSIVE_DISORDER}
OTHER_REASON = "other"
#: FHIR's dose-rate-type: the EHR's own coding of the dose the prescriber ordered (a hospital CPOE codes it so).
DOSE_ORDERED = Code("http://terminology.hl7.org/CodeSystem/dose-rate-type", "ordered", "Ordered")


class FormError(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class OrderForm:
    strength_mg_per_ml: float
    dose: float
    dose_unit: str
    duration_min: int
    infusion_count: int
    reason: str  # a key of REASONS or OTHER_REASON
    reason_text: str = ""

    @classmethod
    def defaults(cls, settings: OrderEntrySettings) -> "OrderForm":
        return cls(settings.default_strength_mg_per_ml, settings.default_mg_per_kg, "mg/kg",
                   settings.default_duration_min, settings.default_infusion_count, settings.default_reason)

    def reason_code(self) -> dict[str, Any]:
        if self.reason in REASONS:
            return codeable_concept(REASONS[self.reason])
        return {"text": self.reason_text}

    @classmethod
    def read(cls, form: Mapping[str, str]) -> "OrderForm":
        strength = _number(form, "strength", float)
        if strength not in STRENGTHS_MG_PER_ML:
            raise FormError("strength", "choose one of the listed products")
        unit = form.get("dose_unit", "")
        if unit not in DOSE_UNITS:
            raise FormError("dose_unit", "the dose is in mg/kg or mg")
        dose = _number(form, "dose", float)
        if not 0 < dose <= 1000:
            raise FormError("dose", "the dose must be a positive number")
        duration = _number(form, "duration", int)
        if not 1 <= duration <= 600:
            raise FormError("duration", "the duration is 1-600 minutes")
        count = _number(form, "infusions", int)
        if not 1 <= count <= 50:
            raise FormError("infusions", "the number of infusions is 1-50")
        reason = form.get("reason", "")
        if reason not in REASONS and reason != OTHER_REASON:
            raise FormError("reason", "choose the reason for the order")
        text = form.get("reason_text", "").strip()
        if reason == OTHER_REASON and not 1 <= len(text) <= 200:
            raise FormError("reason_text", "describe the other reason (at most 200 characters)")
        return cls(strength, dose, unit, duration, count, reason, text if reason == OTHER_REASON else "")


def draft_order(form: OrderForm, patient_id: str, requester: dict[str, str], encounter_id: str | None
                ) -> dict[str, Any]:
    """A draft (``status: draft``) with an id of its own, as CDS Hooks' ``draftOrders`` carry it."""
    if form.strength_mg_per_ml == 100.0:
        medication: dict[str, Any] = {"medicationCodeableConcept": codeable_concept(KETAMINE_100MG_PER_ML_INJECTION)}
    else:
        display = f"ketamine {form.strength_mg_per_ml:g} mg/mL injection"
        medication = {"contained": [product_medication(form.strength_mg_per_ml, display, None)],
                      "medicationReference": product_reference(display)}
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"draft-{uuid.uuid4()}",
        "identifier": [{"system": EHR_ORDER_SYSTEM, "value": f"cpoe-{uuid.uuid4()}"}],
        "status": "draft",
        "intent": "order",
        **medication,
        "subject": reference("Patient", patient_id),
        "authoredOn": instant(datetime.now(timezone.utc)),
        "requester": requester,
        "reasonCode": [form.reason_code()],
        "dosageInstruction": [{
            "text": f"ketamine {form.dose:g} {form.dose_unit} IV over {form.duration_min} min",
            "route": codeable_concept(ROUTE_INTRAVENOUS),
            "timing": {"repeat": {"count": 1, "duration": form.duration_min, "durationUnit": "min"}},
            "doseAndRate": [{"type": codeable_concept(DOSE_ORDERED),
                             "doseQuantity": quantity(form.dose, form.dose_unit)}],
        }],
        "dispenseRequest": {"numberOfRepeatsAllowed": form.infusion_count - 1},
    }
    if encounter_id:
        order["encounter"] = reference("Encounter", encounter_id)
    return order


def placed_order(draft: dict[str, Any]) -> dict[str, Any]:
    """The signed order as the CPOE files it: active, without the draft's local id (the store gives its own)."""
    order = {key: value for key, value in draft.items() if key != "id"}
    order["status"] = "active"
    if not order.get("identifier"):
        order["identifier"] = [{"system": EHR_ORDER_SYSTEM, "value": f"cpoe-{uuid.uuid4()}"}]
    return order


def _number(form: Mapping[str, str], field: str, kind: type) -> Any:
    try:
        value = kind(form.get(field, ""))
    except ValueError:
        raise FormError(field, f"{field} must be a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise FormError(field, f"{field} must be a number")
    return value
