"""The order page: ``GET /ui/orders/<id>`` reviews an order (calculation, the series' infusions with their windows,
history) of the patient in context, and ``POST /ui/orders/<id>/<action>`` signs (prescribers only, ticking the
attestation), holds, resumes or cancels it with a reason. An order of another patient is refused even where the
token's user-level scopes would allow it."""
from __future__ import annotations

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

from shared.db import StaleRecordError
from shared.errors import FieldInputError
from shared.fhir.client import FhirError
from shared.roles import ATTESTATIONS, acting_person, require_prescriber
from shared.smart import SmartAuthError, SmartContext, requires
from shared.ui import check_same_patient
from services.orders.access import order_patient, orders_service
from services.orders.commands import ChangeOrder
from services.orders.domain.order import OrderWithSeries
from services.orders.presenters import ACTIONS_BY_STATUS, DONE_NOTICES, calculation_rows, order_view, page_ehr_status
from services.orders.repository import OrderNotFoundError
from services.orders.ui.forms import action_field
from services.orders.ui.pages import blueprint, by_field, patient_context, patient_eligibility, problems, render_page

ACTION_DONE = {"sign": "signed", "hold": "held", "resume": "resumed", "cancel": "cancelled"}
ACTION_NEEDS_REASON = {"hold": True, "cancel": True, "resume": False, "sign": False}


@blueprint.get("/ui/orders/<order_id>")
@requires("MedicationRequest", "r", patient=order_patient)
@requires("CarePlan", "r", patient=order_patient)
def order_page(order_id: str) -> ResponseReturnValue:
    context = patient_context()
    current = _own_order(order_id)
    return _order_review(context, current, notice=DONE_NOTICES.get(request.args.get("done", "")))


@blueprint.post("/ui/orders/<order_id>/<any(sign, hold, resume, cancel):action>")
@requires("MedicationRequest", "u", patient=order_patient)
@requires("CarePlan", "u", patient=order_patient)
def change_order(order_id: str, action: str) -> ResponseReturnValue:
    context = patient_context()
    current = _own_order(order_id)
    by = acting_person(context, ehr=orders_service().ehr)  # the signed-in clinician, whatever the form says
    reason = request.form.get("reason", "").strip() or None
    if action == "sign":  # only a prescriber signs (403 page otherwise), ticking the attestation
        require_prescriber(context, "sign an order")
        if request.form.get("sign-attested") != "yes":
            return _order_review(context, current, errors=[("sign-attested", "tick the attestation to sign")],
                                 status=400, failed_action=action, typed={"reason": reason or "", "by": by.display})
    command = ChangeOrder(order_id, by, reason, attestation=ATTESTATIONS["sign-order"] if action == "sign" else None)
    service = orders_service()
    step = {"sign": service.sign_order, "hold": service.hold_order, "resume": service.resume_order,
            "cancel": service.cancel_order}[action]
    try:
        step(command)
    except (FieldInputError, FhirError, StaleRecordError) as error:
        status, found = problems(error)
        errors = [(action_field(action, where), message) for where, message in found]
        return _order_review(context, _reload(order_id, current), errors=errors, status=status,
                             failed_action=action, typed={"reason": reason or "", "by": by.display})
    return redirect(url_for(".order_page", order_id=order_id, done=ACTION_DONE[action]), code=303)


def _order_review(context: SmartContext, current: OrderWithSeries, *, notice: str | None = None,
                  errors: list[tuple[str, str]] | None = None, status: int = 200,
                  failed_action: str | None = None, typed: dict[str, str] | None = None) -> Response:
    order = order_view(current, orders_service().settings)
    ehr_status = page_ehr_status(orders_service().order_ehr_status(current.order.order_id))
    return render_page("orders/order.html", context, patient_eligibility(order["patient_id"]), status=status,
                       ehr_status=ehr_status,
                       order=order, rows=calculation_rows(order["calculation"]), notice=notice, errors=errors or [],
                       field_errors=by_field(errors or []), actions=ACTIONS_BY_STATUS.get(order["status"], ()),
                       needs_reason=ACTION_NEEDS_REASON, failed_action=failed_action, typed=typed or {})


def _own_order(order_id: str) -> OrderWithSeries:
    try:
        current = orders_service().get_order(order_id)
    except OrderNotFoundError:
        raise SmartAuthError(404, f"There is no order {order_id}.", title="Order not found",
                             page="not-found") from None
    check_same_patient(current.order.patient_id, "order")
    return current


def _reload(order_id: str, fallback: OrderWithSeries) -> OrderWithSeries:
    try:
        return orders_service().get_order(order_id)
    except OrderNotFoundError:
        return fallback
