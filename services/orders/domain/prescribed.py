"""An infusion order as written in a MedicationRequest: what was prescribed, without Ketalink's calculation record.

It is what the MedicationRequest translator-in yields, both for an order placed in the EHR's CPOE (checked by
``cpoe.check_cpoe_order``) and for Ketalink's own orders read back (what documentation needs: ids, status, mg/kg,
mg, minutes, mL/h, number of infusions). Fields the request did not carry are None, so the check can name each."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.fhir.codes import RXNORM, ROUTE_INTRAVENOUS
from shared.people import Person
from shared.records import JsonRecord
from services.orders.domain.order import OrderWithSeries


@dataclass(frozen=True)
class PrescribedInfusion(JsonRecord):
    patient_id: str
    status: str  # FHIR MedicationRequest status as received (active, on-hold, cancelled …)
    intent: str
    medication_system: str | None
    medication_code: str | None
    route_system: str | None
    route_code: str | None
    mg_per_kg: float | None
    duration_min: float | None
    dose_mg: float | None
    rate_ml_per_h: float | None
    infusion_count: int | None
    weight_observation_id: str | None
    ehr_request_id: str | None = None
    order_id: str | None = None  # Ketalink's order id, when Ketalink wrote the request
    series_id: str | None = None
    requester: Person | None = None  # the prescriber (MedicationRequest.requester)
    authored_on: datetime | None = None
    text: str | None = None
    # The product as the request codes it: ``medication_code`` is its RxNorm product code (None when coded by
    # ingredient), ``medication_strength_mg_per_ml`` its stated (or verified-code) strength.
    medication_strength_mg_per_ml: float | None = None
    medication_is_ketamine: bool = True
    reason_codes: tuple[str, ...] = ()  # reasonCode codings as ``system|code``
    reason_text: str | None = None

    @classmethod
    def from_order(cls, current: OrderWithSeries, weight_observation_id: str | None = None) -> PrescribedInfusion:
        """What a MedicationRequest written from this order says: its ketamine product, IV, its indication."""
        order, calc = current.order, current.order.calculation
        signing = order.signing
        product = calc.drug_product
        return cls(
            patient_id=order.patient_id, status=order.status.value, intent="order",
            medication_system=RXNORM if product.rxnorm_code else None,
            medication_code=product.rxnorm_code,
            medication_strength_mg_per_ml=product.strength_mg_per_ml,
            reason_codes=tuple(c.token for c in order.reason.codes), reason_text=order.reason.text,
            route_system=ROUTE_INTRAVENOUS.system, route_code=ROUTE_INTRAVENOUS.code,
            mg_per_kg=calc.mg_per_kg, duration_min=calc.duration_min, dose_mg=calc.dose_mg,
            rate_ml_per_h=calc.rate_ml_per_h, infusion_count=current.series.infusion_count,
            weight_observation_id=weight_observation_id or calc.weight.observation_id,
            ehr_request_id=None, order_id=order.order_id, series_id=order.series_id,
            requester=None if signing is None else signing.changed_by,
            authored_on=order.created_at, text=calc.text,
        )
