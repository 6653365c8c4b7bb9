"""The staff's patient-questionnaire screen of the course (orders app, patient in the launch context).

- ``GET /ui/course/questionnaires``: what is due or overdue for the patient's course (each scheduled scale, its last
  score from any source and its due date), the links made (open, used, expired; never the token again) and a form
  to make a link.
- ``POST /ui/course/<id>/patient-links``: a new single-use link for the chosen scale; the answer (200, no-store)
  shows the link once, with its QR code (segno, inline SVG) to copy or print. Sending it (SMS, e-mail) is not
  Ketalink's job.

Who may: the same SMART scopes as entering a score (QuestionnaireResponse.c and Observation.c for the patient in
context; reading needs CarePlan.r and Observation.s), and to make a link a clinical role from the EHR
(``access.patient_link_maker``, ``ORDERS_COURSE_PATIENT_LINK_*``); every post passes the UI kit's form guard."""
from __future__ import annotations

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup
import segno

from services.orders.course.access import course_patient, course_service, missing_link_role, patient_link_maker
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.patient_links import PatientLink
from services.orders.course.presenters import patient_link_url
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.ui.forms import choice, who
from services.orders.course.ui.pages import blueprint, own_course, patient_context
from shared.clinic_time import format_clinic_time
from shared.scales import DEFINITIONS, Scale
from shared.smart import SmartContext, guarded_by, requires
from shared.ui import clinician_name, in_launch_context, patient_banner

QR_ERROR_CORRECTION = "m"  # 15% of the code may be smudged on a printout and still read


@blueprint.get("/ui/course/questionnaires")
@requires("CarePlan", "r", patient=in_launch_context)
@requires("Observation", "s", patient=in_launch_context)
def questionnaires() -> ResponseReturnValue:
    return _render(patient_context())


@blueprint.post("/ui/course/<course_id>/patient-links")
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
@guarded_by(patient_link_maker)
def create_link(course_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    scale = choice(Scale, request.form.get("scale"))
    try:
        link, token = course_service().create_patient_link(course_id, scale, who(context, request.form))
    except CourseInputError as error:
        status = 409 if isinstance(error, CourseStateError) else 400
        return _render(context, errors=[(v.field, v.message) for v in error.violations], status=status)
    url = patient_link_url(token, course_service().pro_settings.patient_base_url)
    return _render(context, created=(link, url, Markup(qr_svg(url))))


def qr_svg(url: str) -> str:
    """The link as an inline SVG QR code (no file, nothing stored)."""
    return segno.make(url, error=QR_ERROR_CORRECTION).svg_inline(
        scale=4, border=4, title="QR code of the questionnaire link", svgclass="qr-code", lineclass=None)


def _render(context: SmartContext, *, errors: list[tuple[str, str]] | None = None, status: int = 200,
            created: tuple[PatientLink, str, Markup] | None = None) -> Response:
    service = course_service()
    zone = service.protocol.zone
    now = service.now()
    try:
        course = service.patient_course(context.patient or "").course
        view = service.course_questionnaires(course.course_id)
    except CourseNotFoundError:
        course, view = None, None
    offered = [s for s in service.pro_settings.scheduled_scales if s in service.link_scales]
    not_offered = [s for s in service.pro_settings.scheduled_scales if s not in service.link_scales]
    banner = patient_banner(context, context.patient or "", today=service.protocol.clinic_date(now))
    html = render_template(
        "orders/course/questionnaires.html", banner=banner, clinician=clinician_name(context), course=course,
        view=view,
        created=created, errors=errors or [], offered=offered, not_offered=not_offered, now=now,
        scale_names={scale: d.name for scale, d in DEFINITIONS.items()},
        when=lambda moment: format_clinic_time(moment, zone) if moment else "",
        validity_hours=service.pro_settings.link_valid_hours, missing_link_role=missing_link_role(context))
    return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})
