"""The focus resources of an orders event (``order-signed`` / ``order-changed`` / ``order-cancelled``): the
order's MedicationRequest and the series CarePlan, in that order (docs/contracts.md). The glue wraps them in the
message Bundle with its MessageHeader and Provenance."""
from __future__ import annotations

from typing import Any

from shared.events.event_codes import ORDER_CANCELLED, ORDER_CHANGED, ORDER_SIGNED
from services.orders.domain.order import InfusionOrder, OrderStatus
from services.orders.domain.series import TreatmentSeries
from services.orders.translators.care_plan_out import care_plan_from_series
from services.orders.translators.medication_request_out import medication_request_from_order


def order_message_resources(order: InfusionOrder, series: TreatmentSeries, patient_id: str,
                            weight_observation_ref: str | dict[str, Any] | None,
                            clinic_timezone: str = "UTC") -> list[dict[str, Any]]:
    """[MedicationRequest, CarePlan]; pass ``ProtocolSettings.clinic_timezone`` so the infusion windows are the
    clinic's days. ValueError when the order, series and patient do not belong together, so a message can never
    mix two patients."""
    if order.patient_id != patient_id or series.patient_id != patient_id:
        raise ValueError("the order, its series and the message's patient must be the same patient")
    return [medication_request_from_order(order, series, weight_observation_ref),
            care_plan_from_series(series, clinic_timezone)]


def order_event_code(order: InfusionOrder) -> str | None:
    """The event code for the order's latest change: signed (draft → active), cancelled, or changed (hold, resume,
    complete). None when there is nothing to publish: a draft, or a draft cancelled before it was ever signed."""
    last = order.history[-1]
    if last.to_status is OrderStatus.DRAFT or (last.from_status is OrderStatus.DRAFT
                                               and last.to_status is OrderStatus.CANCELLED):
        return None
    if last.to_status is OrderStatus.CANCELLED:
        return ORDER_CANCELLED
    if last.from_status is OrderStatus.DRAFT and last.to_status is OrderStatus.ACTIVE:
        return ORDER_SIGNED
    return ORDER_CHANGED
