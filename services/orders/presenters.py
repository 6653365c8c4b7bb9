"""Domain objects → what the orders service shows (no Flask here).

JSON answers of the API: what a prescriber or the clinic's UI needs to read an order, its series and the
patient's eligibility. Page view models of the clinician pages, built from those same JSON views: the rows of the
dose calculation and the labels of statuses and actions.

The calculation rows are described once, here: the page renders them, and ``static/orders/dose_preview.js`` fills
the same cells (``data-calc`` = a path into the ``calculation`` object that ``POST /dose-preview`` answers, with
``data-unit``/``data-format``) when the live preview comes back, so both show the numbers the same way."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.clinic_time import format_clinic_time
from services.orders.domain.dose import DoseCalculation
from services.orders.domain.eligibility import EligibilityDecision, eligibility_violations
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.domain.series import InfusionStatus, TreatmentSeries, reevaluation_due
from services.orders.domain.settings import ProtocolSettings
from services.orders.repository import ORDER
from shared.ehr_delivery import Delivery, RecordEhrStatus
from shared.ehr_delivery.views import record_status_json


# --- JSON answers of the API ------------------------------------------------------------------------------------
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
        "created_by": order.created_by.to_dict(),
        "created_at": order.created_at.isoformat(),
        "signed_by": None if order.signing is None else order.signing.changed_by.to_dict(),
        "text": order.calculation.text,
        "calculation": order.calculation.to_dict(),
        "history": [change.to_dict() for change in order.history],
        "series": series_view(current.series, settings),
    }


def with_ehr_status(view: dict[str, Any], status: RecordEhrStatus) -> dict[str, Any]:
    """An order's JSON with its ``ehr_status``: what the EHR did with its messages (signed, changed, cancelled)."""
    return {**view, "ehr_status": record_status_json(status)}


def page_ehr_status(status: RecordEhrStatus) -> dict[str, Any] | None:
    """The order page's EHR status (a refusal is an alert); None for a draft, which nothing was sent for."""
    return record_status_json(status) if status.status is not None else None


NOT_IN_EHR_TYPES = {ORDER: "MedicationRequest", "course": "CarePlan"}  # the FHIR type a record is read as


def ehr_record_link(delivery: Delivery) -> str | None:
    """The page of a "not in the EHR" row's record."""
    return f"/ui/orders/{delivery.record_id}" if delivery.record_kind == ORDER else "/ui/course"


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


# --- page view models ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CalculationRow:
    path: str  # dotted path into the calculation dict
    label: str
    unit: str = ""
    format: str = "number"  # number | text | date
    optional: bool = False  # hidden when the value is empty (height, IBW, ABW, override: only when used)


CALCULATION_ROWS = (
    CalculationRow("weight.value_kg", "Latest weight", "kg"),
    CalculationRow("weight.measured_at", "Weighed on", format="date"),
    CalculationRow("weight.observation_id", "Weight Observation", format="text", optional=True),
    CalculationRow("weight_basis_requested", "Weight basis asked for", format="text"),
    CalculationRow("weight_basis_used", "Weight basis used", format="text"),
    CalculationRow("height.value_cm", "Height", "cm", optional=True),
    CalculationRow("sex", "Sex (for IBW)", format="text", optional=True),
    CalculationRow("ideal_weight_kg", "Ideal body weight", "kg", optional=True),
    CalculationRow("adjusted_weight_kg", "Adjusted body weight", "kg", optional=True),
    CalculationRow("dosing_weight_kg", "Dosing weight", "kg"),
    CalculationRow("mg_per_kg", "Dose ordered", "mg/kg"),
    CalculationRow("unrounded_dose_mg", "mg/kg × dosing weight", "mg"),
    CalculationRow("dose_cap_mg", "Clinic dose cap", "mg", optional=True),
    CalculationRow("dose_mg", "Dose", "mg"),
    CalculationRow("product.display", "Ketamine product (coded in the order)", format="text", optional=True),
    CalculationRow("concentration_mg_per_ml", "Ketamine concentration", "mg/mL"),
    CalculationRow("drug_volume_ml", "Ketamine volume (mL drug)", "mL"),
    CalculationRow("drawn_dose_mg", "Dose in that volume", "mg", optional=True),
    CalculationRow("diluent_volume_ml", "Diluent", "mL"),
    CalculationRow("diluent_name", "Diluent fluid", format="text"),
    CalculationRow("bag_volume_rule", "Bag volume rule", format="text"),
    CalculationRow("bag_volume_ml", "Bag volume", "mL"),
    CalculationRow("duration_min", "Infusion duration", "min"),
    CalculationRow("rate_ml_per_h", "Pump rate", "mL/h"),
    CalculationRow("override.authorised_by.display", "Override authorised by", format="text", optional=True),
    CalculationRow("override.reason", "Override reason", format="text", optional=True),
)

STATUS_LABELS = {
    OrderStatus.DRAFT.value: "Draft — not signed",
    OrderStatus.ACTIVE.value: "Active — signed",
    OrderStatus.ON_HOLD.value: "On hold",
    OrderStatus.COMPLETED.value: "Completed",
    OrderStatus.CANCELLED.value: "Cancelled",
}
# The steps a clinician may take from each status (the domain's lifecycle refuses anything else anyway).
ACTIONS_BY_STATUS = {
    OrderStatus.DRAFT.value: ("sign", "cancel"),
    OrderStatus.ACTIVE.value: ("hold", "cancel"),
    OrderStatus.ON_HOLD.value: ("resume", "cancel"),
}
DONE_NOTICES = {
    "created": "Draft order created. Review the calculation and the series, then sign.",
    "signed": "Order signed. It is active and has been sent to the EHR with its series.",
    "held": "Order put on hold. The EHR has been told.",
    "resumed": "Order resumed. It is active again.",
    "cancelled": "Order cancelled; its series is revoked.",
}


def value_at(data: dict[str, Any] | None, path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def format_value(value: Any, row: CalculationRow) -> str:
    """As the preview script does: numbers to 6 significant digits without trailing zeros, dates as YYYY-MM-DD."""
    if value is None or value == "":
        return "—"
    if row.format == "date":
        text = str(value)[:10]
    elif row.format == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:.6g}"
    else:
        text = str(value)
    return f"{text} {row.unit}" if row.unit else text


def calculation_rows(calculation: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = []
    for row in CALCULATION_ROWS:
        value = value_at(calculation, row.path)
        rows.append({"row": row, "text": format_value(value, row),
                     "hidden": row.optional and (value is None or value == "")})
    return rows


def local_time(iso_moment: str | None, zone: ZoneInfo) -> str:
    """An ISO instant in the clinic's zone, written the one way every page and the note write a time
    (``shared/clinic_time.py``: 24-hour, with the zone and its offset)."""
    if not iso_moment:
        return ""
    return format_clinic_time(datetime.fromisoformat(iso_moment), zone)


def day(iso_date: str | None) -> str:
    """An ISO date with its weekday (windows are planned by day)."""
    if not iso_date:
        return ""
    return date.fromisoformat(iso_date[:10]).strftime("%a %Y-%m-%d")
