"""The orders app's pages, for the clinician who opened it from the patient's chart (SMART launch lands on ``/``).

- ``GET /``: the patient in context: banner (with the eligibility orders holds), eligibility, series and orders.
- ``GET /ui/orders/new``: order entry with the dose calculation; ``static/orders/dose_preview.js`` recalculates
  live through ``POST /dose-preview`` (same origin, the session cookie); without script, ``POST
  /ui/orders/preview`` re-renders the form with the calculation.
- ``POST /ui/orders``: create the draft, then ``GET /ui/orders/<id>``: review (calculation, series) and sign; the
  same page holds, resumes and cancels with a reason (``POST /ui/orders/<id>/<action>``).

Views call the service layer (``OrdersService``) as the API does, for the patient in the SMART context only: an
order of another patient is refused even where the token's user-level scopes would allow it. Domain errors are
shown next to their field; every form POST passes the UI kit's CSRF guard (``shared.ui.forms``)."""
from __future__ import annotations

from shared.errors import FieldInputError

from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from shared.db import StaleRecordError
from shared.roles import ATTESTATIONS, require_prescriber
from shared.fhir.client import FhirError, FhirUnavailable
from shared.smart import SmartAuthError, SmartContext, requires
from shared.ui import (
    check_same_patient, clinician_name, guard_form_posts, in_launch_context, launch_context, patient_banner,
)
from services.orders.commands import ChangeOrder
from services.orders.domain.errors import (
    EligibilityRefusedError, IllegalTransitionError, OrdersInputError, StaleWeightError,
)
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.errors import ActiveSeriesError, OrderNotFoundError, UnknownPatientError
from services.orders.handlers import OrdersService
from shared.errors import FhirMappingError
from services.orders.ui_forms import OrderForm, page_field
from services.orders.presenters import (
    ACTIONS_BY_STATUS, DONE_NOTICES, STATUS_LABELS, calculation_rows, day, eligibility_view, local_time, order_view,
    preview_view,
)

ACTION_DONE = {"sign": "signed", "hold": "held", "resume": "resumed", "cancel": "cancelled"}
ACTION_NEEDS_REASON = {"hold": True, "cancel": True, "resume": False, "sign": False}
NOT_DONE = "This was not done"  # the error summary's heading when the refusal is not about the fields (not 400)


def create_ui_blueprint(service: OrdersService) -> Blueprint:
    settings = service.settings
    ui = Blueprint("orders_ui", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/ui/orders-static")
    guard_form_posts(ui)

    def order_patient(view_args: dict[str, Any]) -> str | None:
        try:
            return service.get_order(view_args["order_id"]).order.patient_id
        except OrderNotFoundError:
            return None

    # -- pages ---------------------------------------------------------------------------------------------------
    @ui.get("/")
    @requires("MedicationRequest", "s", patient=in_launch_context)
    @requires("CarePlan", "s", patient=in_launch_context)
    def home():  # type: ignore[no-untyped-def]
        context = _patient_context()
        patient_id = context.patient or ""
        eligibility = _eligibility(patient_id)
        orders = [order_view(current, settings) for current in reversed(service.patient_orders(patient_id))]
        signed = next((o for o in orders if o["status"] in (OrderStatus.ACTIVE.value, OrderStatus.ON_HOLD.value)),
                      None)
        return _page("orders/home.html", context, eligibility, orders=orders, signed=signed,
                     may_order=bool(eligibility and eligibility["may_order"]) and signed is None)

    @ui.get("/ui/orders/new")
    @requires("Patient", "r", patient=in_launch_context)
    @requires("Observation", "r", patient=in_launch_context)
    def new_order():  # type: ignore[no-untyped-def]
        context = _patient_context()
        form = OrderForm.defaults(settings, _today())
        return _order_entry(context, form, preview=True)

    @ui.post("/ui/orders/preview")
    @requires("Patient", "r", patient=in_launch_context)
    @requires("Observation", "r", patient=in_launch_context)
    def preview_order():  # type: ignore[no-untyped-def]
        """Without script: the form posted back with its calculation."""
        context = _patient_context()
        return _order_entry(context, OrderForm.posted(request.form), preview=True)

    @ui.post("/ui/orders")
    @requires("MedicationRequest", "c", patient=in_launch_context)
    @requires("CarePlan", "c", patient=in_launch_context)
    def create_order():  # type: ignore[no-untyped-def]
        context = _patient_context()
        form = OrderForm.posted(request.form)
        command = form.create_command(context.patient or "", clinician_name(context))
        if command is None:
            return _order_entry(context, form, preview=False, status=400)
        try:
            created = service.create_order(command)
        except (FieldInputError, UnknownPatientError, FhirError, StaleRecordError) as error:
            status, problems = _problems(error)
            form.errors.extend((page_field(where), message) for where, message in problems)
            return _order_entry(context, form, preview=False, status=status)
        return redirect(url_for(".order_page", order_id=created.order.order_id, done="created"), code=303)

    @ui.get("/ui/orders/<order_id>")
    @requires("MedicationRequest", "r", patient=order_patient)
    @requires("CarePlan", "r", patient=order_patient)
    def order_page(order_id: str):  # type: ignore[no-untyped-def]
        context = _patient_context()
        current = _own_order(order_id)
        return _order_review(context, current, notice=DONE_NOTICES.get(request.args.get("done", "")))

    @ui.post("/ui/orders/<order_id>/<any(sign, hold, resume, cancel):action>")
    @requires("MedicationRequest", "u", patient=order_patient)
    @requires("CarePlan", "u", patient=order_patient)
    def change_order(order_id: str, action: str):  # type: ignore[no-untyped-def]
        context = _patient_context()
        current = _own_order(order_id)
        by = clinician_name(context) or request.form.get("by", "").strip()
        reason = request.form.get("reason", "").strip() or None
        if action == "sign":  # only a prescriber signs (403 page otherwise), ticking the attestation
            require_prescriber(context, "sign an order")
            if request.form.get("sign-attested") != "yes":
                return _order_review(context, current, errors=[("sign-attested", "tick the attestation to sign")],
                                     status=400, failed_action=action, typed={"reason": reason or "", "by": by})
        command = ChangeOrder(order_id, by, reason,
                              attestation=ATTESTATIONS["sign-order"] if action == "sign" else None)
        step = {"sign": service.sign_order, "hold": service.hold_order, "resume": service.resume_order,
                "cancel": service.cancel_order}[action]
        try:
            step(command)
        except (FieldInputError, FhirError, StaleRecordError) as error:
            status, problems = _problems(error)
            errors = [(_action_field(action, where), message) for where, message in problems]
            return _order_review(context, _reload(order_id, current), errors=errors, status=status,
                                 failed_action=action, typed={"reason": reason or "", "by": by})
        return redirect(url_for(".order_page", order_id=order_id, done=ACTION_DONE[action]), code=303)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _order_entry(context: SmartContext, form: OrderForm, *, preview: bool, status: int = 200) -> Response:
        eligibility = _eligibility(context.patient or "")
        calculation = None
        if preview and not form.errors:
            command = form.preview_command(context.patient or "")
            if command is not None:
                try:
                    calculation = preview_view(command.patient_id, service.preview_dose(command))
                except (FieldInputError, UnknownPatientError, FhirError) as error:
                    error_status, problems = _problems(error)
                    form.errors.extend((page_field(where), message) for where, message in problems)
                    status = max(status, error_status)
        if form.errors and status == 200:
            status = 400
        field_errors = _by_field(form.errors)
        return _page("orders/new_order.html", context, eligibility, status=status, form=form.values,
                     errors=form.errors, field_errors=field_errors, calculation=calculation,
                     rows=calculation_rows(calculation["calculation"] if calculation else None),
                     open_override=bool(form.values["override_reason"] or form.values["override_authorised_by"]
                                        or "override_reason" in field_errors
                                        or "override_authorised_by" in field_errors))

    def _order_review(context: SmartContext, current: OrderWithSeries, *, notice: str | None = None,
                      errors: list[tuple[str, str]] | None = None, status: int = 200,
                      failed_action: str | None = None, typed: dict[str, str] | None = None) -> Response:
        order = order_view(current, settings)
        return _page("orders/order.html", context, _eligibility(order["patient_id"]), status=status, order=order,
                     rows=calculation_rows(order["calculation"]), notice=notice, errors=errors or [],
                     field_errors=_by_field(errors or []), actions=ACTIONS_BY_STATUS.get(order["status"], ()),
                     needs_reason=ACTION_NEEDS_REASON, failed_action=failed_action, typed=typed or {})

    def _page(template: str, context: SmartContext, eligibility: dict[str, Any] | None, *, status: int = 200,
              **values: Any) -> Response:
        banner = patient_banner(context, context.patient or "", today=_today(),
                                eligibility=eligibility["status"] if eligibility else None)
        html = render_template(template, banner=banner, eligibility=eligibility, patient_id=context.patient,
                               clinician=clinician_name(context), error_heading=None if status == 400 else NOT_DONE,
                               status_labels=STATUS_LABELS,
                               local_time=lambda moment: local_time(moment, settings.zone), day=day,
                               settings=settings, **values)
        return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})

    def _eligibility(patient_id: str) -> dict[str, Any] | None:
        decision = service.patient_eligibility(patient_id)
        return None if decision is None else eligibility_view(decision)

    def _own_order(order_id: str) -> OrderWithSeries:
        try:
            current = service.get_order(order_id)
        except OrderNotFoundError:
            raise SmartAuthError(404, f"There is no order {order_id}.", title="Order not found",
                                 page="not-found") from None
        check_same_patient(current.order.patient_id, "order")
        return current

    def _reload(order_id: str, fallback: OrderWithSeries) -> OrderWithSeries:
        try:
            return service.get_order(order_id)
        except OrderNotFoundError:
            return fallback

    def _today() -> date:
        return settings.clinic_date(datetime.now(timezone.utc))

    return ui


def _patient_context() -> SmartContext:
    """The SMART context with a patient; the pages are always about the patient open in the EHR (the forms ask
    for the clinician's name when the EHR gives none)."""
    context = launch_context()
    if not context.patient:
        raise SmartAuthError(400, "No patient is open: launch Ketalink orders from a patient's chart in the EHR.",
                             page="launch-required", title="No patient in context")
    return context


def _problems(error: Exception) -> tuple[int, list[tuple[str, str]]]:
    """(HTTP status, [(field, message)]) of a refusal, with the statuses the JSON API gives the same errors."""
    if isinstance(error, OrdersInputError):
        problems = [(v.field, v.message) for v in error.violations]
        if isinstance(error, (IllegalTransitionError, ActiveSeriesError)):
            return 409, problems
        if isinstance(error, (EligibilityRefusedError, StaleWeightError, FhirMappingError)):
            return 422, problems
        return 400, problems
    if isinstance(error, UnknownPatientError):
        return 422, [("", str(error))]
    if isinstance(error, StaleRecordError):
        return 409, [("", "the order was changed by someone else meanwhile; the page shows it as it is now")]
    if isinstance(error, FhirUnavailable):
        return 503, [("", "the EHR cannot be reached; nothing was written, try again in a moment")]
    if isinstance(error, FhirError):
        return 502, [("", f"the EHR refused a read (HTTP {error.status}); nothing was written")]
    raise error


def _action_field(action: str, where: str) -> str:
    """Field ids on the order page: ``<action>-reason``, ``<action>-by``."""
    if where == "reason":
        return f"{action}-reason"
    if where in ("signed_by", "changed_by"):
        return f"{action}-by"
    return ""


def _by_field(errors: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, message in errors:
        if where and where not in found:
            found[where] = message
    return found

