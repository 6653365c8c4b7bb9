"""The blueprint of the course page and what its posts share: the patient in the SMART context only, the page
rendered with its banner and charts, and a refusal shown next to its field (400, or 409 when the course's status
refuses the step)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import Markup

from services.orders.course.access import course_service
from services.orders.course.commands import (
    DecisionKind,
)
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext
from services.orders.course.domain.model import ClinicalEventKind, CourseStatus, StopReason
from services.orders.course.domain.therapy import TherapyKind
from services.orders.course.handlers import CourseChange
from services.orders.course.presenters import course_ehr_status_view, course_view, score_chart_svg
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.translators.codes import CSSRS_ITEMS, SCALE_ITEMS
from services.orders.course.ui.forms import (
    form_field,
)
from shared.clinic_time import INPUT_PLACEHOLDER, format_clinic_time
from shared.scales import DEFINITIONS, Scale
from shared.smart import SmartAuthError, SmartContext
from shared.ui import check_same_patient, clinician_name, guard_form_posts, launch_context, \
    patient_banner

DECISIONS_BY_STATUS: dict[CourseStatus, tuple[DecisionKind, ...]] = {
    CourseStatus.INDUCTION: (DecisionKind.EXTEND, DecisionKind.STOP),
    CourseStatus.RESPONSE_CHECK: (DecisionKind.MAINTENANCE, DecisionKind.EXTEND, DecisionKind.STOP),
    CourseStatus.MAINTENANCE: (DecisionKind.CONTINUE, DecisionKind.STOP),
    CourseStatus.REEVALUATION_DUE: (DecisionKind.CONTINUE, DecisionKind.REINDUCE, DecisionKind.STOP),
    CourseStatus.STOPPED: (),
}
DECISION_LABELS = {DecisionKind.EXTEND: "Extend the induction", DecisionKind.MAINTENANCE: "Start maintenance",
                   DecisionKind.CONTINUE: "Continue maintenance (or change its interval)",
                   DecisionKind.REINDUCE: "Start a new induction", DecisionKind.STOP: "Stop the course"}
DONE_NOTICES = {"score": "The score was recorded.", "cssrs": "The C-SSRS screener was recorded.",
                "decision": "The decision was recorded.", "acknowledged": "The alert was acknowledged.",
                "referral": "The referral was recorded.", "referral-closed": "The referral was closed.",
                "clinical-event": "The event was recorded."}
NOT_DONE = "This was not done"

Step = Callable[[], object]

# Rooted at the orders service's directory (import name ``services.orders``), where templates/ is.
blueprint = Blueprint("course_ui", "services.orders", template_folder="templates")
guard_form_posts(blueprint)


def after_step(context: SmartContext, step: Step, done: str, field_prefix: str) -> Response:
    """Run the service step: back to the page (303) with what was done, or the page again with the refusal next
    to its field (400; 409 when the course's status refuses the step)."""
    try:
        step()
    except CourseInputError as error:
        status = 409 if isinstance(error, CourseStateError) else 400
        errors = [(f"{field_prefix}{form_field(v.field)}", v.message) for v in error.violations]
        try:
            change = course_service().patient_course(context.patient or "")
        except CourseNotFoundError:
            change = None
        return render_page(context, change, errors=errors, status=status, typed=request.form)
    return redirect(url_for(".course_page", done=done), code=303)


def render_page(context: SmartContext, change: CourseChange | None, *, status: int = 200,
          errors: list[tuple[str, str]] | None = None, notice: str | None = None, typed: Any = None) -> Response:
    course = course_service()
    zone = course.protocol.zone
    patient_id = context.patient or ""
    decision = course.eligibility(patient_id)
    today = course.protocol.clinic_date(course.now())
    banner = patient_banner(context, patient_id, today=today,
                            eligibility=decision.status.value if decision is not None else None)
    view = course_view(change) if change else None
    ehr_status = course_ehr_status_view(course.course_ehr_status(change.course.course_id)) if change else None
    charts = [Markup(score_chart_svg(series, change.summary.infusions)) for series in change.summary.series
              if series.points or series.scale is course.settings.primary_scale] if change else []
    html = render_template(
        "orders/course/course.html", banner=banner, clinician=clinician_name(context), course=view,
        charts=charts, errors=errors or [], field_errors=dict(reversed(errors or [])), notice=notice,
        error_heading=None if status == 400 else NOT_DONE, typed=typed or {},
        decisions=DECISIONS_BY_STATUS[change.course.status] if change else (),
        decision_labels=DECISION_LABELS, stop_reasons=list(StopReason), phq9_items=SCALE_ITEMS[Scale.PHQ9],
        cssrs_items=[(item.value, code.display) for item, code in CSSRS_ITEMS.items()],
        therapy_kinds=list(TherapyKind), clinical_event_kinds=list(ClinicalEventKind),
        time_placeholder=INPUT_PLACEHOLDER, scale_names={scale.value: d.name for scale, d in DEFINITIONS.items()},
        contexts=list(ScoreContext), when=lambda text: _when(text, zone), on_day=_on_day, today=today,
        ehr_status=ehr_status)
    return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def own_course(course_id: str) -> SmartContext:
    context = patient_context()
    patient_id = course_service().course_patient(course_id)
    if patient_id is None:
        raise SmartAuthError(404, f"There is no course {course_id}.", title="Course not found", page="not-found")
    check_same_patient(patient_id, "course")
    return context


def patient_context() -> SmartContext:
    context = launch_context()
    if not context.patient:
        raise SmartAuthError(400, "No patient is open: launch Ketalink orders from a patient's chart in the EHR.",
                             page="launch-required", title="No patient in context")
    return context


def refuse(field: str, message: str) -> Step:
    def step() -> None:
        raise CourseInputError(field, message)

    return step


def _when(text: str | None, zone: ZoneInfo) -> str:
    """A recorded instant as every page writes it (``shared/clinic_time.py``: 24-hour, the clinic's zone)."""
    if not text:
        return ""
    return format_clinic_time(datetime.fromisoformat(text), zone)


def _on_day(text: str | None) -> str:
    return date.fromisoformat(text).strftime("%d %b %Y") if text else ""
