"""The blueprint of the orders pages and what every page shares: the patient in the SMART context, the page frame
(banner with the eligibility orders holds, labels, the clinic's time) and the refusal of a step shown next to its
field with the status the JSON API gives the same error."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from flask import Blueprint, Response, render_template

from shared.db import StaleRecordError
from shared.errors import FhirMappingError, FieldInputError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.smart import SmartAuthError, SmartContext
from shared.ui import clinician_name, guard_form_posts, launch_context, patient_banner
from services.orders.access import orders_service
from services.orders.domain.errors import EligibilityRefusedError, IllegalTransitionError, StaleWeightError
from services.orders.ehr_reads import UnknownPatientError
from services.orders.handlers import ActiveSeriesError
from services.orders.presenters import STATUS_LABELS, day, eligibility_view, local_time

NOT_DONE = "This was not done"  # the error summary's heading when the refusal is not about the fields (not 400)

# Rooted at the service's directory (import name ``services.orders``), where templates/ and static/ are.
blueprint = Blueprint("orders_ui", "services.orders", template_folder="templates", static_folder="static",
                      static_url_path="/ui/orders-static")
guard_form_posts(blueprint)


def patient_context() -> SmartContext:
    """The SMART context with a patient; the pages are always about the patient open in the EHR (the forms ask
    for the clinician's name when the EHR gives none)."""
    context = launch_context()
    if not context.patient:
        raise SmartAuthError(400, "No patient is open: launch Ketalink orders from a patient's chart in the EHR.",
                             page="launch-required", title="No patient in context")
    return context


def render_page(template: str, context: SmartContext, eligibility: dict[str, Any] | None, *, status: int = 200,
                **values: Any) -> Response:
    settings = orders_service().settings
    banner = patient_banner(context, context.patient or "", today=clinic_today(),
                            eligibility=eligibility["status"] if eligibility else None)
    html = render_template(template, banner=banner, eligibility=eligibility, patient_id=context.patient,
                           clinician=clinician_name(context), error_heading=None if status == 400 else NOT_DONE,
                           status_labels=STATUS_LABELS,
                           local_time=lambda moment: local_time(moment, settings.zone), day=day,
                           settings=settings, **values)
    return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def patient_eligibility(patient_id: str) -> dict[str, Any] | None:
    decision = orders_service().patient_eligibility(patient_id)
    return None if decision is None else eligibility_view(decision)


def clinic_today() -> date:
    return orders_service().settings.clinic_date(datetime.now(timezone.utc))


def problems(error: Exception) -> tuple[int, list[tuple[str, str]]]:
    """(HTTP status, [(field, message)]) of a refusal, with the statuses the JSON API gives the same errors."""
    if isinstance(error, FieldInputError):
        found = [(v.field, v.message) for v in error.violations]
        if isinstance(error, (IllegalTransitionError, ActiveSeriesError)):
            return 409, found
        if isinstance(error, (EligibilityRefusedError, StaleWeightError, FhirMappingError)):
            return 422, found
        return 400, found
    if isinstance(error, UnknownPatientError):
        return 422, [("", str(error))]
    if isinstance(error, StaleRecordError):
        return 409, [("", "the order was changed by someone else meanwhile; the page shows it as it is now")]
    if isinstance(error, FhirUnavailable):
        return 503, [("", "the EHR cannot be reached; nothing was written, try again in a moment")]
    if isinstance(error, FhirError):
        return 502, [("", f"the EHR refused a read (HTTP {error.status}); nothing was written")]
    raise error


def by_field(errors: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, message in errors:
        if where and where not in found:
            found[where] = message
    return found
