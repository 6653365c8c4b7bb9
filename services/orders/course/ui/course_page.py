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


from flask import request
from flask.typing import ResponseReturnValue

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
from services.orders.course.domain.measurements import ScoreSource
from services.orders.course.domain.model import ClinicalEventKind, StopReason
from services.orders.course.domain.therapy import ReferralStatus, TherapyKind
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.ui.pages import (
    DONE_NOTICES, after_step, blueprint, own_course, patient_context, refuse, render_page,
)
from services.orders.course.ui.forms import (
    CSSRS_ANSWERS, EVENT_DETAIL_MAX_CHARS, choice, integer, score_context, who,
)
from shared.clinic_time import ClinicTimeError, parse_clinic_time
from shared.scales import DEFINITIONS, CssrsItem, Scale
from shared.smart import requires
from shared.ui import in_launch_context


@blueprint.get("/ui/course")
@requires("CarePlan", "r", patient=in_launch_context)
@requires("Observation", "s", patient=in_launch_context)
def course_page() -> ResponseReturnValue:
    context = patient_context()
    try:
        change = course_service().patient_course(context.patient or "")
    except CourseNotFoundError:
        change = None
    return render_page(context, change, notice=DONE_NOTICES.get(request.args.get("done", "")))


@blueprint.post("/ui/course/<course_id>/scores")
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_score(course_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    form = request.form
    items = tuple(integer(form.get(f"item-{n}")) for n in range(1, DEFINITIONS[Scale.PHQ9].item_count + 1))
    command = RecordScore(Scale.PHQ9, items, score_context(form), ScoreSource.CLINICIAN, who(context, form))
    return after_step(context, lambda: course_service().record_score(course_id, command), "score", "score-")


@blueprint.post("/ui/course/<course_id>/cssrs")
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_cssrs(course_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    form = request.form
    answers = {item.value: CSSRS_ANSWERS.get(form.get(item.value, "")) for item in CssrsItem}
    command = RecordCssrs(answers, score_context(form), ScoreSource.CLINICIAN, who(context, form))
    return after_step(context, lambda: course_service().record_cssrs(course_id, command), "cssrs", "cssrs-")


@blueprint.post("/ui/course/<course_id>/referrals")
@requires("ServiceRequest", "c", patient=course_patient)
def refer(course_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    form = request.form
    kind = choice(TherapyKind, form.get("kind"))
    if kind is None:
        return after_step(context, refuse("kind", "choose psychotherapy or integration"), "referral", "referral-")
    command = Refer(kind, who(context, form), form.get("reason", "").strip(),
                    form.get("performer", "").strip() or None, integer(form.get("sessions_requested")))
    return after_step(context, lambda: course_service().refer(course_id, command), "referral", "referral-")


@blueprint.post("/ui/course/<course_id>/referrals/<referral_id>/close")
@requires("ServiceRequest", "u", patient=course_patient)
def close_referral(course_id: str, referral_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    form = request.form
    status = choice(ReferralStatus, form.get("status")) or ReferralStatus.ACTIVE  # ACTIVE: the domain names it
    command = CloseReferral(referral_id, status, who(context, form))
    return after_step(context, lambda: course_service().close_referral(course_id, command), "referral-closed",
                  f"close-{referral_id}-")


@blueprint.post("/ui/course/<course_id>/decisions")
@requires("CarePlan", "u", patient=course_patient)
def decide(course_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    form = request.form
    kind = choice(DecisionKind, form.get("decision"))
    stop_reason = choice(StopReason, form.get("stop_reason"))
    if kind is None or (form.get("stop_reason") and stop_reason is None):
        return after_step(context, refuse("decision", "choose one of the decisions offered"), "decision", "decision-")
    command = Decide(kind, who(context, form), form.get("reason", "").strip(),
                     integer(form.get("total_infusions")), integer(form.get("interval_days")),
                     integer(form.get("infusions")), stop_reason, form.get("detail", "").strip())
    return after_step(context, lambda: course_service().decide(course_id, command), "decision", "decision-")


@blueprint.post("/ui/course/<course_id>/clinical-events")
@requires("CarePlan", "u", patient=course_patient)
def record_clinical_event(course_id: str) -> ResponseReturnValue:
    """A hospitalisation or suicide attempt; its time is typed in the clinic's zone (24-hour)."""
    context = own_course(course_id)
    form = request.form
    kind = choice(ClinicalEventKind, form.get("kind"))
    if kind is None:
        return after_step(context, refuse("kind", "choose a psychiatric hospitalisation or a suicide attempt"),
                      "clinical-event", "event-")
    try:
        occurred_at = parse_clinic_time(form.get("occurred_at", ""), course_service().protocol.zone)
    except ClinicTimeError as error:
        return after_step(context, refuse("occurred_at", str(error)), "clinical-event", "event-")
    detail = form.get("detail", "").strip()
    if len(detail) > EVENT_DETAIL_MAX_CHARS:
        return after_step(context, refuse("detail", f"at most {EVENT_DETAIL_MAX_CHARS} characters"),
                      "clinical-event", "event-")
    command = RecordClinicalEvent(kind, occurred_at, who(context, form), detail)
    return after_step(context, lambda: course_service().record_clinical_event(course_id, command), "clinical-event",
                  "event-")


@blueprint.post("/ui/course/<course_id>/alerts/<alert_id>/acknowledge")
@requires("DetectedIssue", "u", patient=course_patient)
def acknowledge(course_id: str, alert_id: str) -> ResponseReturnValue:
    context = own_course(course_id)
    command = AcknowledgeAlert(alert_id, who(context, request.form),
                               request.form.get("action_taken", "").strip())
    return after_step(context, lambda: course_service().acknowledge_alert(course_id, command), "acknowledged",
                  f"ack-{alert_id}-")
