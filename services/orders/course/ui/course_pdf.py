"""The treatment course summary as a PDF (``GET /ui/course/summary.pdf``): the course page's record (status and
outcome, open alerts, the score charts with each scale's scores, infusions, history) for the patient in the SMART
context, with the patient's name, date of birth and MRN as the EHR gives them. Made on request (it is a view of the
course as it stands, not a signed record, and says so with when and by whom it was printed); never cached."""
from __future__ import annotations

from datetime import datetime, tzinfo

from flask import Response, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from services.orders.course.access import course_service
from services.orders.course.presenters import course_view, score_chart_svg
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.ui.pages import blueprint, patient_context
from shared.clinic_time import format_clinic_time
from shared.pdf import PDF_CONTENT_TYPE, render_pdf
from shared.scales import DEFINITIONS
from shared.smart import SmartAuthError, requires
from shared.ui import clinician_name, in_launch_context, patient_banner


@blueprint.get("/ui/course/summary.pdf")
@requires("CarePlan", "r", patient=in_launch_context)
@requires("Observation", "s", patient=in_launch_context)
def course_summary_pdf() -> ResponseReturnValue:
    context = patient_context()
    course = course_service()
    try:
        change = course.patient_course(context.patient or "")
    except CourseNotFoundError:
        raise SmartAuthError(404, "This patient has no treatment course yet: there is nothing to print.",
                             title="No treatment course", page="not-found") from None
    zone, now = course.protocol.zone, course.now()
    banner = patient_banner(context, context.patient or "", today=course.protocol.clinic_date(now))
    series = [s for s in change.summary.series if s.points or s.scale is course.settings.primary_scale]
    html = render_template(
        "orders/course/course_pdf.html", banner=banner, course=course_view(change),
        charts=[Markup(score_chart_svg(s, change.summary.infusions)) for s in series],
        scores=[(DEFINITIONS[s.scale].name, s.points) for s in series if s.points],
        printed_at=format_clinic_time(now, zone), printed_by=clinician_name(context),
        when=lambda moment: _when(moment, zone))
    data = render_pdf(html, key=f"course/{change.course.course_id}/{now.isoformat()}", created=now,
                      title="Treatment course summary")
    filename = f"treatment-course-{now.astimezone(zone):%Y-%m-%d}.pdf"
    return Response(data, mimetype=PDF_CONTENT_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _when(moment: datetime | str | None, zone: tzinfo) -> str:
    if not moment:
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return format_clinic_time(value, zone)
