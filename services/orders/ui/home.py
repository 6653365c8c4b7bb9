"""``GET /``: the patient in context (a SMART launch from the chart lands here): banner with the eligibility orders
holds, the intake decision and why ordering is blocked, and the patient's orders and series."""
from __future__ import annotations

from flask.typing import ResponseReturnValue

from shared.smart import requires
from shared.ui import in_launch_context
from services.orders.access import orders_service
from services.orders.domain.order import OrderStatus
from services.orders.presenters import order_view
from services.orders.ui.pages import blueprint, patient_context, patient_eligibility, render_page


@blueprint.get("/")
@requires("MedicationRequest", "s", patient=in_launch_context)
@requires("CarePlan", "s", patient=in_launch_context)
def home() -> ResponseReturnValue:
    context = patient_context()
    patient_id = context.patient or ""
    service = orders_service()
    eligibility = patient_eligibility(patient_id)
    orders = [order_view(current, service.settings) for current in reversed(service.patient_orders(patient_id))]
    signed = next((o for o in orders if o["status"] in (OrderStatus.ACTIVE.value, OrderStatus.ON_HOLD.value)),
                  None)
    ehr = service.order_ehr_statuses([o["order_id"] for o in orders])
    return render_page("orders/home.html", context, eligibility, orders=orders, signed=signed, ehr=ehr,
                       may_order=bool(eligibility and eligibility["may_order"]) and signed is None)
