"""The course's HTTP operations, declared on the orders service's API (same OpenAPI document, same error answers).

Every operation declares its SMART needs (``@requires``): the FHIR resource type it writes or reads and the v2 action
letters; the patient comes from the path or from the course in the path, so a patient-scoped token reaches only its
patient's course. The outcomes export names no patient: a patient-bound context is refused it, and it needs an
export role or scope (``access.outcomes_exporter``).

Errors: bad input 400 naming the field (``score.items[8]``), a step the course's status refuses 409, unknown
course / alert / patient without a course 404, EHR unreachable (export) 503.

The views are module-level, declared with ``@OPERATIONS.operation`` and reach the service through the app
(``access.course_service``); ``OPERATIONS.register`` puts them on the orders app's ``Api`` (route, body model,
OpenAPI declaration) and ``install_course_errors`` maps the course's errors, both called by the orders bootstrap."""
from __future__ import annotations

import uuid

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from services.orders.course.answers import ANSWERS
from services.orders.course.access import course_patient, course_service, outcomes_exporter, patient_link_maker
from services.orders.course.commands import (
    AcknowledgeBody,
    ActedBody,
    AttendanceBody,
    ClinicalEventBody,
    CloseReferralBody,
    CssrsBody,
    DecisionBody,
    PatientLinkBody,
    ReferralBody,
    ScoreBody,
    TherapySessionBody,
)
from services.orders.course.domain.errors import CourseStateError
from services.orders.course.domain.export import outcomes_csv
from services.orders.course.presenters import (
    change_view, clinic_due_view, course_view, patient_link_url, patient_link_view, questionnaires_view, score_chart_svg,
)
from services.orders.course.repository import CourseNotFoundError
from services.orders.course.translators.outcomes_bundle_out import outcomes_bundle
from shared.api import Operations
from shared.people import Person
from shared.roles import acting_person
from shared.smart import current_context, from_path, guarded_by, requires
from shared.web import outcome_response

TAG = "course"
CHANGE_ERRORS = (400, 404, 409)
OPERATIONS = Operations(ANSWERS)  # put on the orders app's Api by the orders bootstrap


# --- views ---------------------------------------------------------------------------------------------------------
@OPERATIONS.operation("/patients/<patient_id>/course", "GET", summary="The patient's treatment course: summary, "
                      "outcome and due actions (?format=svg: the score chart)", errors=(404,), tag=TAG)
@requires("CarePlan", "r", patient=from_path("patient_id"))
@requires("Observation", "s", patient=from_path("patient_id"))
def patient_course(patient_id: str) -> ResponseReturnValue:
    """The active course, else the latest stopped one: infusions with doses, scores over time, response and
    remission by the clinic's rules (each with its rule), adverse events, therapy sessions, open alerts, the
    goal, the history and the due actions soonest first. Reading it runs the maintenance re-evaluation check
    (and publishes ``reevaluation-due`` when the date has come)."""
    change = course_service().patient_course(patient_id)
    if request.args.get("format") == "svg":
        series = change.summary.series[0]
        return Response(score_chart_svg(series, change.summary.infusions), mimetype="image/svg+xml")
    return jsonify(course_view(change))


@OPERATIONS.operation("/courses/<course_id>", "GET", summary="A treatment course by id", errors=(404,),
                      tag=TAG)
@requires("CarePlan", "r", patient=course_patient)
@requires("Observation", "s", patient=course_patient)
def get_course(course_id: str) -> ResponseReturnValue:
    return jsonify(course_view(course_service().course(course_id)))


@OPERATIONS.operation("/courses/<course_id>/scores", "POST", summary="Record a scale (PHQ-9, MADRS, GAD-7, QIDS-SR16) "
                      "from its items (score-recorded; response-reached, remission-reached, loss-of-response, "
                      "relapse-after-remission when the outcome changes)", body=ScoreBody, success_status=201,
                      errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_score(course_id: str, body: ScoreBody) -> ResponseReturnValue:
    """The total is computed from the items. The same ``measurement_id`` again with other items rescores it
    (every outcome follows). A PHQ-9 item 9 above 0 raises a suicidality alert, published as its own message
    in the same transaction: ``alerts_raised`` lists it and whether the broker has it already."""
    return jsonify(change_view(course_service().record_score(course_id, body.to_command(_actor(body))))), 201


@OPERATIONS.operation("/courses/<course_id>/cssrs", "POST", summary="Record a C-SSRS screener (a risk at the clinic's "
                      "level raises suicidality-alert at once)", body=CssrsBody, success_status=201,
                      errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
def record_cssrs(course_id: str, body: CssrsBody) -> ResponseReturnValue:
    """The risk follows the clinic's high/moderate items. An alert is committed with the screener and the
    answer waits for the broker's acknowledgement: ``alerts_raised[].sent_to_broker`` is true once the alert
    message is on ``ketalink.orders.events`` (false: it is in the outbox and goes out when the broker is
    back)."""
    return jsonify(change_view(course_service().record_cssrs(course_id, body.to_command(_actor(body))))), 201


@OPERATIONS.operation("/courses/<course_id>/decisions", "POST", summary="Decide: extend the induction, start or "
                      "continue maintenance, re-induce, or stop (with the reason)", body=DecisionBody,
                      errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("CarePlan", "u", patient=course_patient)
def decide(course_id: str, body: DecisionBody) -> ResponseReturnValue:
    """409 when the course's status does not allow the decision (e.g. maintenance while the induction runs).
    Decisions close the open tasks and are kept in the CarePlan's progress notes with who, when and why."""
    return jsonify(change_view(course_service().decide(course_id, body.to_command(_actor(body)))))


@OPERATIONS.operation("/courses/<course_id>/clinical-events", "POST", summary="Record a psychiatric hospitalisation "
                      "or suicide attempt (after remission a relapse: relapse-after-remission)", body=ClinicalEventBody,
                      success_status=201, errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("CarePlan", "u", patient=course_patient)
def record_clinical_event(course_id: str, body: ClinicalEventBody) -> ResponseReturnValue:
    """In maintenance a relapse after remission makes re-evaluation due (reevaluation-due with its Task)."""
    return jsonify(change_view(course_service().record_clinical_event(course_id, body.to_command(_actor(body))))), 201


@OPERATIONS.operation("/courses/<course_id>/alerts/<alert_id>/acknowledge", "POST", summary="Acknowledge a "
                      "suicidality alert with the action taken (suicidality-alert-acknowledged)", body=AcknowledgeBody,
                      errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("DetectedIssue", "u", patient=course_patient)
def acknowledge_alert(course_id: str, alert_id: str, body: AcknowledgeBody) -> ResponseReturnValue:
    return jsonify(change_view(course_service().acknowledge_alert(course_id, body.to_command(alert_id, _actor(body)))))


@OPERATIONS.operation("/courses/<course_id>/referrals", "POST", summary="Refer to integration sessions or "
                      "psychotherapy (ServiceRequest)", body=ReferralBody, success_status=201, errors=CHANGE_ERRORS,
                      tag=TAG, idempotent=True)
@requires("ServiceRequest", "c", patient=course_patient)
def refer(course_id: str, body: ReferralBody) -> ResponseReturnValue:
    return jsonify(change_view(course_service().refer(course_id, body.to_command(_actor(body))))), 201


@OPERATIONS.operation("/courses/<course_id>/referrals/<referral_id>/close", "POST", summary="Close a referral as "
                      "completed or revoked (course-changed with the ServiceRequest)", body=CloseReferralBody,
                      errors=CHANGE_ERRORS, tag=TAG, idempotent=True)
@requires("ServiceRequest", "u", patient=course_patient)
def close_referral(course_id: str, referral_id: str, body: CloseReferralBody) -> ResponseReturnValue:
    """Its booked sessions stay as they are; no new session can be booked under it. 409 when it is closed
    already, 400 naming referral_id for an unknown one."""
    return jsonify(change_view(course_service().close_referral(course_id, body.to_command(referral_id, _actor(body)))))


@OPERATIONS.operation("/courses/<course_id>/therapy-sessions", "POST", summary="Book (or re-book) a therapy session "
                      "under an active referral", body=TherapySessionBody, success_status=201, errors=CHANGE_ERRORS,
                      tag=TAG, idempotent=True)
@requires("CarePlan", "u", patient=course_patient)
def book_therapy_session(course_id: str, body: TherapySessionBody) -> ResponseReturnValue:
    """An integration session names the infusion it follows and starts in the clinic's window after it
    (default 24-72 h); outside it only with ``window_exception_reason``."""
    change = course_service().schedule_therapy_session(course_id, body.to_command(), _actor(body))
    return jsonify(change_view(change)), 201


@OPERATIONS.operation("/courses/<course_id>/therapy-sessions/<session_id>/attendance", "POST",
                      summary="Record a therapy session's attendance (once)", body=AttendanceBody, errors=CHANGE_ERRORS,
                      tag=TAG, idempotent=True)
@requires("CarePlan", "u", patient=course_patient)
def record_attendance(course_id: str, session_id: str, body: AttendanceBody) -> ResponseReturnValue:
    command = body.to_command(session_id, _actor(body))
    return jsonify(change_view(course_service().record_attendance(course_id, command)))


@OPERATIONS.operation("/outcomes/export.csv", "GET", summary="De-identified outcomes of every course, one CSV row each "
                      "(clinic-level scope)", errors=(503,), tag="outcomes", media_type="text/csv")
@requires("CarePlan", "s")
@requires("Observation", "s")
@requires("Patient", "s")
@guarded_by(outcomes_exporter)
def export_csv() -> ResponseReturnValue:
    """No names, birth dates, MRNs, ids, exact dates or free text: an age band at the course start, the start
    year, counts, scores and coded outcomes. Needs an export role or scope; never a patient-bound context."""
    return Response(outcomes_csv(course_service().export()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=ketamine-course-outcomes.csv"})


@OPERATIONS.operation("/outcomes/export", "GET", summary="De-identified outcomes as a FHIR Bundle (a MeasureReport and "
                      "one Observation per course; clinic-level scope)", errors=(503,), tag="outcomes",
                      media_type="application/fhir+json")
@requires("CarePlan", "s")
@requires("Observation", "s")
@requires("Patient", "s")
@guarded_by(outcomes_exporter)
def export_bundle() -> ResponseReturnValue:
    service = course_service()
    bundle = outcomes_bundle(service.export(), str(uuid.uuid4()), service.now())
    response = jsonify(bundle)
    response.mimetype = "application/fhir+json"
    return response


@OPERATIONS.operation("/courses/<course_id>/patient-links", "POST", summary="Make a single-use questionnaire link "
                      "for the patient (its address once, in this answer; only the token's hash is kept)",
                      body=PatientLinkBody, success_status=201, errors=CHANGE_ERRORS, tag=TAG)
@requires("QuestionnaireResponse", "c", patient=course_patient)
@requires("Observation", "c", patient=course_patient)
@guarded_by(patient_link_maker)
def create_patient_link(course_id: str, body: PatientLinkBody) -> ResponseReturnValue:
    """Not idempotent by design: a stored answer would keep the link's address. A retry makes a second link; each
    works once, and the unused one expires (``ORDERS_COURSE_PRO_LINK_VALID_HOURS``). 400 for a scale the clinic
    does not schedule or a link cannot ask, 409 on a stopped course."""
    service = course_service()
    link, token = service.create_patient_link(course_id, body.scale, _actor(body))
    url = patient_link_url(token, service.pro_settings.patient_base_url)
    return jsonify(patient_link_view(link, service.now(), url)), 201


@OPERATIONS.operation("/courses/<course_id>/questionnaires", "GET", summary="The course's scheduled questionnaires "
                      "(due, overdue) and its patient links", errors=(404,), tag=TAG)
@requires("CarePlan", "r", patient=course_patient)
@requires("Observation", "s", patient=course_patient)
def course_questionnaires(course_id: str) -> ResponseReturnValue:
    """Due from the last score of the scale (any source) plus the clinic's interval; links without their token."""
    service = course_service()
    return jsonify(questionnaires_view(service.course_questionnaires(course_id), service.now()))


@OPERATIONS.operation("/questionnaires/due", "GET", summary="The clinic's due and overdue patient questionnaires "
                      "across running courses (ids only)", tag=TAG)
@requires("CarePlan", "s")
@requires("Observation", "s")
def clinic_questionnaires_due() -> ResponseReturnValue:
    """Across patients: a patient-bound session or token is refused (403). Longest due first; a waiting link is
    named by when it expires."""
    return jsonify(clinic_due_view(course_service().clinic_questionnaires_due()))


def _actor(body: ActedBody) -> Person:
    """Who acts: the request's clinician from its SMART context (``shared.roles.acting_person``), never a name in
    the body (read only where SMART is off)."""
    return acting_person(current_context(), body.typed_name, on_behalf_of=body.on_behalf_of,
                         ehr=course_service().ehr)


def install_course_errors(app: Flask) -> None:
    """Course answers beside the orders service's: a step the course's status refuses is a conflict (409); an
    unknown course 404. (CourseInputError is an OrdersInputError: the orders handler answers it 400.)"""
    app.register_error_handler(CourseStateError, _state)
    app.register_error_handler(CourseNotFoundError, _unknown)


def _state(error: CourseStateError) -> ResponseReturnValue:
    return outcome_response(409, [(v.field, v.message) for v in error.violations], "conflict")


def _unknown(error: CourseNotFoundError) -> ResponseReturnValue:
    return outcome_response(404, [(error.field, str(error))], "not-found")
