"""The course page of the orders app, for the clinician who opened it from the patient's chart.

- ``GET /ui/course``: the patient's treatment course: status and outcome in words, open suicidality alerts (each
  with its acknowledgement form), the due actions, the score chart (``presenters.score_chart_svg``, one per scale),
  the outcome by the clinic's rules, infusions, the history; a PHQ-9 entry form, a C-SSRS screener form, the
  psychotherapy and integration referrals (a referral form, and a close form for each active one) and the decisions
  the course's status allows.
- ``POST /ui/course/<id>/scores``, ``/cssrs``, ``/referrals``, ``/referrals/<referral_id>/close``, ``/decisions``,
  ``/alerts/<alert_id>/acknowledge``, ``/clinical-events`` (a hospitalisation or suicide attempt, typed in clinic
  time): the same service calls as the API, then back to the page (303) with what was done; a refusal re-renders
  the page with the error next to its field (400, or 409 when the course's status refuses the step).

Only the patient in the SMART context: a course of another patient is refused. Every form post passes the UI kit's
guard (origin and per-session token)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from services.orders.course.access import course_patient, course_service
from services.orders.course.commands import (
    AcknowledgeAlert,
    CloseReferral,
    Decide,
    DecisionKind,
    RecordClinicalEvent,
    RecordCssrs,
    RecordScore,
    Refer,
)
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import ClinicalEventKind, CourseStatus, StopReason
from services.orders.course.domain.therapy import ReferralStatus, TherapyKind
from services.orders.course.handlers import CourseChange
from services.orders.course.presenters import course_view, score_chart_svg
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.translators.codes import CSSRS_ITEMS, SCALE_ITEMS
from services.orders.course.ui.forms import (
    CSSRS_ANSWERS, EVENT_DETAIL_MAX_CHARS, choice, form_field, integer, score_context, who,
)
from shared.clinic_time import INPUT_PLACEHOLDER, ClinicTimeError, format_clinic_time, parse_clinic_time
from shared.scales import DEFINITIONS, CssrsItem, Scale
from shared.smart import SmartAuthError, SmartContext, requires
from shared.ui import check_same_patient, clinician_name, guard_form_posts, in_launch_context, launch_context, \
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


@blueprint.get("/ui/course")
@requires("CarePlan", "r", patient=in_launch_context)
@requires("Observation", "s", patient=in_launch_context)
def course_page() -> ResponseReturnValue:
    context = _patient_context()
    try:
        change = course_service().patient_course(context.patient or "")
    except CourseNotFoundError:
        change = None
    return _page(context, change, notice=DONE_NOTICES.get(request.args.get("done", "")))


@blueprint.post("/ui/course/<course_id>/scores")
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_score(course_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    form = request.form
    items = tuple(integer(form.get(f"item-{n}")) for n in range(1, DEFINITIONS[Scale.PHQ9].item_count + 1))
    command = RecordScore(Scale.PHQ9, items, score_context(form), ScoreSource.CLINICIAN, who(context, form))
    return _after(context, lambda: course_service().record_score(course_id, command), "score", "score-")


@blueprint.post("/ui/course/<course_id>/cssrs")
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_cssrs(course_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    form = request.form
    answers = {item.value: CSSRS_ANSWERS.get(form.get(item.value, "")) for item in CssrsItem}
    command = RecordCssrs(answers, score_context(form), ScoreSource.CLINICIAN, who(context, form))
    return _after(context, lambda: course_service().record_cssrs(course_id, command), "cssrs", "cssrs-")


@blueprint.post("/ui/course/<course_id>/referrals")
@requires("ServiceRequest", "c", patient=course_patient)
def refer(course_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    form = request.form
    kind = choice(TherapyKind, form.get("kind"))
    if kind is None:
        return _after(context, _refuse("kind", "choose psychotherapy or integration"), "referral", "referral-")
    command = Refer(kind, who(context, form) or "", form.get("reason", "").strip(),
                    form.get("performer", "").strip() or None, integer(form.get("sessions_requested")))
    return _after(context, lambda: course_service().refer(course_id, command), "referral", "referral-")


@blueprint.post("/ui/course/<course_id>/referrals/<referral_id>/close")
@requires("ServiceRequest", "u", patient=course_patient)
def close_referral(course_id: str, referral_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    form = request.form
    status = choice(ReferralStatus, form.get("status")) or ReferralStatus.ACTIVE  # ACTIVE: the domain names it
    command = CloseReferral(referral_id, status, who(context, form) or "")
    return _after(context, lambda: course_service().close_referral(course_id, command), "referral-closed",
                  f"close-{referral_id}-")


@blueprint.post("/ui/course/<course_id>/decisions")
@requires("CarePlan", "u", patient=course_patient)
def decide(course_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    form = request.form
    kind = choice(DecisionKind, form.get("decision"))
    stop_reason = choice(StopReason, form.get("stop_reason"))
    if kind is None or (form.get("stop_reason") and stop_reason is None):
        return _after(context, _refuse("decision", "choose one of the decisions offered"), "decision", "decision-")
    command = Decide(kind, who(context, form) or "", form.get("reason", "").strip(),
                     integer(form.get("total_infusions")), integer(form.get("interval_days")),
                     integer(form.get("infusions")), stop_reason, form.get("detail", "").strip())
    return _after(context, lambda: course_service().decide(course_id, command), "decision", "decision-")


@blueprint.post("/ui/course/<course_id>/clinical-events")
@requires("CarePlan", "u", patient=course_patient)
def record_clinical_event(course_id: str) -> ResponseReturnValue:
    """A hospitalisation or suicide attempt; its time is typed in the clinic's zone (24-hour)."""
    context = _own_course(course_id)
    form = request.form
    kind = choice(ClinicalEventKind, form.get("kind"))
    if kind is None:
        return _after(context, _refuse("kind", "choose a psychiatric hospitalisation or a suicide attempt"),
                      "clinical-event", "event-")
    try:
        occurred_at = parse_clinic_time(form.get("occurred_at", ""), course_service().protocol.zone)
    except ClinicTimeError as error:
        return _after(context, _refuse("occurred_at", str(error)), "clinical-event", "event-")
    detail = form.get("detail", "").strip()
    if len(detail) > EVENT_DETAIL_MAX_CHARS:
        return _after(context, _refuse("detail", f"at most {EVENT_DETAIL_MAX_CHARS} characters"),
                      "clinical-event", "event-")
    command = RecordClinicalEvent(kind, occurred_at, who(context, form) or "", detail)
    return _after(context, lambda: course_service().record_clinical_event(course_id, command), "clinical-event",
                  "event-")


@blueprint.post("/ui/course/<course_id>/alerts/<alert_id>/acknowledge")
@requires("DetectedIssue", "u", patient=course_patient)
def acknowledge(course_id: str, alert_id: str) -> ResponseReturnValue:
    context = _own_course(course_id)
    command = AcknowledgeAlert(alert_id, who(context, request.form) or "",
                               request.form.get("action_taken", "").strip())
    return _after(context, lambda: course_service().acknowledge_alert(course_id, command), "acknowledged",
                  f"ack-{alert_id}-")


# --- what every post shares ----------------------------------------------------------------------------------------
def _after(context: SmartContext, step: Step, done: str, field_prefix: str) -> Response:
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
        return _page(context, change, errors=errors, status=status, typed=request.form)
    return redirect(url_for(".course_page", done=done), code=303)


def _page(context: SmartContext, change: CourseChange | None, *, status: int = 200,
          errors: list[tuple[str, str]] | None = None, notice: str | None = None, typed: Any = None) -> Response:
    course = course_service()
    zone = course.protocol.zone
    patient_id = context.patient or ""
    decision = course.eligibility(patient_id)
    today = course.protocol.clinic_date(course.now())
    banner = patient_banner(context, patient_id, today=today,
                            eligibility=decision.status.value if decision is not None else None)
    view = course_view(change) if change else None
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
        contexts=list(ScoreContext), when=lambda text: _when(text, zone), on_day=_on_day, today=today)
    return Response(html, status=status, mimetype="text/html", headers={"Cache-Control": "no-store"})


def _own_course(course_id: str) -> SmartContext:
    context = _patient_context()
    patient_id = course_service().course_patient(course_id)
    if patient_id is None:
        raise SmartAuthError(404, f"There is no course {course_id}.", title="Course not found", page="not-found")
    check_same_patient(patient_id, "course")
    return context


def _patient_context() -> SmartContext:
    context = launch_context()
    if not context.patient:
        raise SmartAuthError(400, "No patient is open: launch Ketalink orders from a patient's chart in the EHR.",
                             page="launch-required", title="No patient in context")
    return context


def _refuse(field: str, message: str) -> Step:
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
