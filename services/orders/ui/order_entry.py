"""Order entry: ``GET /ui/orders/new`` shows the form with the dose calculation (``static/orders/dose_preview.js``
recalculates live through ``POST /dose-preview``, same origin, the session cookie); without script, ``POST
/ui/orders/preview`` re-renders the form with the calculation. ``POST /ui/orders`` creates the draft and goes on to
its review page; a refusal is shown next to its field."""
from __future__ import annotations

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

from shared.db import StaleRecordError
from shared.errors import FieldInputError
from shared.fhir.client import FhirError
from shared.roles import acting_person
from shared.smart import SmartContext, requires
from shared.ui import in_launch_context
from services.orders.access import orders_service
from services.orders.ehr_reads import UnknownPatientError
from services.orders.presenters import calculation_rows, preview_view
from services.orders.ui.forms import OrderForm, page_field
from services.orders.ui.pages import (
    blueprint, by_field, clinic_today, patient_context, patient_eligibility, problems, render_page,
)


@blueprint.get("/ui/orders/new")
@requires("Patient", "r", patient=in_launch_context)
@requires("Observation", "r", patient=in_launch_context)
def new_order() -> ResponseReturnValue:
    context = patient_context()
    form = OrderForm.defaults(orders_service().settings, clinic_today())
    return _order_entry(context, form, preview=True)


@blueprint.post("/ui/orders/preview")
@requires("Patient", "r", patient=in_launch_context)
@requires("Observation", "r", patient=in_launch_context)
def preview_order() -> ResponseReturnValue:
    """Without script: the form posted back with its calculation."""
    context = patient_context()
    return _order_entry(context, OrderForm.posted(request.form), preview=True)


@blueprint.post("/ui/orders")
@requires("MedicationRequest", "c", patient=in_launch_context)
@requires("CarePlan", "c", patient=in_launch_context)
def create_order() -> ResponseReturnValue:
    context = patient_context()
    form = OrderForm.posted(request.form)
    command = form.create_command(context.patient or "", acting_person(context, ehr=orders_service().ehr))
    if command is None:
        return _order_entry(context, form, preview=False, status=400)
    try:
        created = orders_service().create_order(command)
    except (FieldInputError, UnknownPatientError, FhirError, StaleRecordError) as error:
        status, found = problems(error)
        form.errors.extend((page_field(where), message) for where, message in found)
        return _order_entry(context, form, preview=False, status=status)
    return redirect(url_for(".order_page", order_id=created.order.order_id, done="created"), code=303)


def _order_entry(context: SmartContext, form: OrderForm, *, preview: bool, status: int = 200) -> Response:
    eligibility = patient_eligibility(context.patient or "")
    calculation = None
    if preview and not form.errors:
        overriding = bool(form.values["override_reason"])  # only an override needs who authorises it
        actor = acting_person(context, ehr=orders_service().ehr) if overriding else None
        command = form.preview_command(context.patient or "", actor)
        if command is not None:
            try:
                calculation = preview_view(command.patient_id, orders_service().preview_dose(command))
            except (FieldInputError, UnknownPatientError, FhirError) as error:
                error_status, found = problems(error)
                form.errors.extend((page_field(where), message) for where, message in found)
                status = max(status, error_status)
    if form.errors and status == 200:
        status = 400
    field_errors = by_field(form.errors)
    return render_page("orders/new_order.html", context, eligibility, status=status, form=form.values,
                       errors=form.errors, field_errors=field_errors, calculation=calculation,
                       rows=calculation_rows(calculation["calculation"] if calculation else None),
                       open_override=bool(form.values["override_reason"] or form.values["override_authorised_by"]
                                          or "override_reason" in field_errors
                                          or "override_authorised_by" in field_errors))
