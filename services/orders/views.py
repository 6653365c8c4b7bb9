"""JSON answers of the orders API, built from domain records (no Flask here): what a prescriber or the clinic's
UI needs to read an order, its series and the patient's eligibility."""
from __future__ import annotations

from typing import Any

from services.orders.domain.dose import DoseCalculation
from services.orders.domain.eligibility import EligibilityDecision, eligibility_violations
from services.orders.domain.order import OrderWithSeries
from services.orders.domain.series import InfusionStatus, TreatmentSeries, reevaluation_due
from services.orders.domain.settings import ProtocolSettings


def preview_view(patient_id: str, calculation: DoseCalculation) -> dict[str, Any]:
    """Every input and result of the calculation, and the paragraph the prescriber checks before ordering."""
    return {"patient_id": patient_id, "text": calculation.text, "calculation": calculation.to_dict()}


def order_view(current: OrderWithSeries, settings: ProtocolSettings) -> dict[str, Any]:
    order = current.order
    return {
        "order_id": order.order_id,
        "patient_id": order.patient_id,
        "status": order.status.value,
        "source": order.source.value,
        "ehr_request_id": order.ehr_request_id,
        "intake_id": order.intake_id,
        "created_by": order.created_by,
        "created_at": order.created_at.isoformat(),
        "signed_by": None if order.signing is None else order.signing.changed_by,
        "text": order.calculation.text,
        "calculation": order.calculation.to_dict(),
        "history": [change.to_dict() for change in order.history],
        "series": series_view(current.series, settings),
    }


def series_view(series: TreatmentSeries, settings: ProtocolSettings, order_id: str | None = None) -> dict[str, Any]:
    """Phase, status, counts, each infusion's window and when the patient is due for re-evaluation."""
    counts = {status.value: sum(1 for i in series.infusions if i.status is status) for status in InfusionStatus}
    next_infusion = series.next_scheduled
    due = reevaluation_due(series, settings)
    view: dict[str, Any] = {
        "series_id": series.series_id,
        "patient_id": series.patient_id,
        "phase": series.phase.value,
        "status": series.status.value,
        "infusion_count": series.infusion_count,
        "completed_count": counts[InfusionStatus.COMPLETED.value],
        "scheduled_count": counts[InfusionStatus.SCHEDULED.value],
        "cancelled_count": counts[InfusionStatus.CANCELLED.value],
        "next_infusion": None if next_infusion is None else next_infusion.to_dict(),
        "infusions": [infusion.to_dict() for infusion in series.infusions],
        "reevaluation_due": None if due is None else due.isoformat(),
        "replaces_series_id": series.replaces_series_id,
        "created_at": series.created_at.isoformat(),
    }
    if order_id is not None:
        view["order_id"] = order_id
    return view


def patient_series_view(patient_id: str, orders: list[OrderWithSeries],
                        settings: ProtocolSettings) -> dict[str, Any]:
    series = [dict(series_view(o.series, settings, o.order.order_id), order_status=o.order.status.value)
              for o in orders]
    return {"patient_id": patient_id, "series": series}


def eligibility_view(decision: EligibilityDecision) -> dict[str, Any]:
    """The stored decision and whether it allows an order now, with every reason when it does not."""
    reasons = eligibility_violations(decision, decision.patient_id)
    return {**decision.to_dict(), "may_order": not reasons, "reasons": [r.to_dict() for r in reasons]}
