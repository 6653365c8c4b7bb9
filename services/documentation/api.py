"""The documentation service's REST API (OpenAPI at ``/openapi.json``). Views are thin: the validated body goes to
the service layer, what it answers is made JSON by ``presenters``; domain and EHR errors become OperationOutcomes
here.

Every operation declares the SMART scopes it needs (``@requires``: FHIR resource type, v2 action letters and the
patient: ``access.py``, the session's or the note's), checked before the body is parsed."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import Flask
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Engine

from services.documentation import commands as c
from services.documentation.answers import ANSWERS
from services.documentation.access import IN_SESSION, OF_NOTE, service
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.ehr_reads import WeightUnavailable
from services.documentation.handlers import Recorded, SessionState
from services.documentation.presenters import (
    NOT_IN_EHR_TYPES, ehr_record_link, fields_as_sent, note_preview_view, note_version_view, note_view, note_views,
    recorded_view, session_state_view, session_summary, with_ehr_status,
)
from services.documentation.messages import NOTE_KIND, SESSION_KIND
from shared.api import Api, Operations
from shared.db import RecordNotFound, StaleRecordError
from shared.errors import FieldInputError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.roles import acting_person, require_prescriber
from shared.smart import current_context, from_path, requires
from shared.ui import in_launch_context
from shared.ui.ehr_status import LIST_API_PATH, ehr_status_settings, outstanding_view
from shared.ui.ehr_status import RESOURCE as EHR_STATUS_RESOURCE
from shared.web import outcome_response

TITLE, VERSION = "Ketalink documentation", "1.0.0"
DESCRIPTION = ("The monitored ketamine infusion session: check-in, pre-infusion check against the clinic's hold "
               "rules, vitals flowsheet with alerts, CADSS, adverse events, administration record, recovery and "
               "discharge, and the signed procedure note. Changes the EHR must know about are sent to it as FHIR "
               "messages on ketalink.documentation.events. Clinical times (`at`) default to now and may not lie "
               "in the future.")
SESSION = "/sessions/<session_id>"
STEP_ERRORS = (400, 404, 409)

A = TypeVar("A", bound=c.Acted)
OPERATIONS = Operations(ANSWERS)
operation = OPERATIONS.operation


def create_api(engine: Engine) -> Api:
    """The API with every operation declared below; the database keeps the ``Idempotency-Key`` answers."""
    return OPERATIONS.register(Api(TITLE, VERSION, DESCRIPTION, engine))


def _acted(body: A) -> A:
    """The body with who acts set from the request's SMART context (``shared.roles.acting_person``: the token's
    fhirUser, or the Practitioner a backend client names in ``on_behalf_of``), never from its ``by``."""
    body.act_as(acting_person(current_context(), body.by, on_behalf_of=body.on_behalf_of, ehr=service().ehr))
    return body


def _session_step(step: Callable[[str, A], SessionState], session_id: str, body: A) -> dict[str, Any]:
    """A session step's answer: the whole session as the step left it (errors named as the body names them)."""
    with fields_as_sent(body):
        state = step(session_id, _acted(body))
    return session_state_view(state, service().settings)


def _recorded(step: Callable[[str, A], Recorded[Any]], session_id: str, body: A) -> dict[str, Any]:
    """A step adding one record: the session with ``recorded`` (the record's id, a reading's alert)."""
    with fields_as_sent(body):
        recorded = step(session_id, _acted(body))
    return recorded_view(recorded, service().settings)


# --- sessions ----------------------------------------------------------------------------------------------
@operation("/patients/<patient_id>/sessions", "GET", summary="List a patient's infusion sessions",
           tag="sessions", errors=())
@requires("Encounter", "s", patient=from_path("patient_id"))
def list_sessions(patient_id: str) -> ResponseReturnValue:
    """Every session scheduled from the patient's orders, in schedule order (summaries)."""
    return {"patient_id": patient_id,
            "sessions": [session_summary(session) for session in service().sessions_for_patient(patient_id)]}


@operation(SESSION, "GET", summary="Read a session", tag="sessions", errors=(404,))
@requires("Encounter", "r", **IN_SESSION)
def read_session(session_id: str) -> ResponseReturnValue:
    """The whole session with the order's dose, the readings and CADSS ratings due or missed now, and its
    ``ehr_status``: what the EHR did with the session's messages (the note's are on the note)."""
    return with_ehr_status(session_state_view(service().session(session_id), service().settings),
                           service().ehr_status(SESSION_KIND, session_id))


@operation(LIST_API_PATH, "GET", summary="Documentation's part of the clinic's \"not in the EHR\" list: every "
           "message the EHR refused, is retrying or left unanswered too long (another patient's: ids and statuses "
           "only)", tag="sessions", errors=())
@requires(EHR_STATUS_RESOURCE, "r", patient=in_launch_context)
def not_in_ehr() -> ResponseReturnValue:
    return outstanding_view(service().not_in_ehr(ehr_status_settings()), NOT_IN_EHR_TYPES, ehr_record_link)


@operation(f"{SESSION}/check-in", "POST", summary="Check the patient in", body=c.CheckIn,
           tag="sessions", errors=STEP_ERRORS + (403,), idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
def check_in(session_id: str, body: c.CheckIn) -> ResponseReturnValue:
    """409 outside the infusion's window or sooner than the clinic's minimum interval after the patient's
    previous infusion; ``override_reason`` sets that aside, for a prescriber only (403 otherwise, from the EHR's
    PractitionerRole of the signed-in clinician), recorded as the signed-in prescriber's decision."""
    if body.override_reason:
        require_prescriber(current_context(), "override an infusion's window or minimum interval")
    return _session_step(service().check_in, session_id, body)


@operation(f"{SESSION}/pre-check", "POST", summary="Record a pre-infusion check", body=c.PreCheck,
           tag="sessions", errors=STEP_ERRORS + (422, 503), idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
@requires("Observation", "c", **IN_SESSION)
def pre_check(session_id: str, body: c.PreCheck) -> ResponseReturnValue:
    """Vitals and confirmations against the hold rules; the patient's latest weight is read from the EHR now
    and compared with the weight the dose was calculated from (422 when the EHR has none, 503 when the EHR
    does not answer)."""
    return _session_step(service().pre_check, session_id, body)


@operation(f"{SESSION}/pre-check/override", "POST", summary="Override a pre-infusion hold",
           body=c.HoldOverride, tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
def override_hold(session_id: str, body: c.HoldOverride) -> ResponseReturnValue:
    return _session_step(service().override_hold, session_id, body)


@operation(f"{SESSION}/pre-check/suicide-risk-review", "POST",
           summary="Record a clinician's suicide-risk review before the infusion", body=c.SuicideRiskReview,
           tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
def review_suicide_risk(session_id: str, body: c.SuicideRiskReview) -> ResponseReturnValue:
    """Covers today's high-risk C-SSRS and every suicidality alert open now; the infusion starts only after a
    review deciding to proceed (409 when there is nothing to review)."""
    return _session_step(service().review_suicide_risk, session_id, body)


@operation(f"{SESSION}/start", "POST", summary="Start the infusion", body=c.StartInfusion,
           tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "c", **IN_SESSION)
def start_infusion(session_id: str, body: c.StartInfusion) -> ResponseReturnValue:
    """409 listing every reason when the latest pre-infusion check does not allow it."""
    return _session_step(service().start_infusion, session_id, body)


@operation(f"{SESSION}/end", "POST", summary="End the infusion (recovery begins)", body=c.EndInfusion,
           tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Procedure", "u", **IN_SESSION)
def end_infusion(session_id: str, body: c.EndInfusion) -> ResponseReturnValue:
    return _session_step(service().end_infusion, session_id, body)


@operation(f"{SESSION}/discharge", "POST", summary="Discharge the patient", body=c.Discharge,
           tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "u", **IN_SESSION)
def discharge(session_id: str, body: c.Discharge) -> ResponseReturnValue:
    """409 with one issue per failing criterion unless ``override_reason`` is given."""
    return _session_step(service().discharge, session_id, body)


@operation(f"{SESSION}/defer", "POST", summary="Defer the infusion", body=c.Defer, tag="sessions",
           errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
def defer(session_id: str, body: c.Defer) -> ResponseReturnValue:
    return _session_step(service().defer, session_id, body)


@operation(f"{SESSION}/abort", "POST", summary="Abort the session", body=c.Abort, tag="sessions",
           errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
@requires("Procedure", "u", **IN_SESSION)
def abort(session_id: str, body: c.Abort) -> ResponseReturnValue:
    return _session_step(service().abort, session_id, body)


# --- flowsheet ---------------------------------------------------------------------------------------------
@operation(f"{SESSION}/vitals", "POST", summary="Record vital signs", body=c.RecordVitals,
           tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("Observation", "c", **IN_SESSION)
def record_vitals(session_id: str, body: c.RecordVitals) -> ResponseReturnValue:
    """A reading crossing an alert threshold raises an alert (``recorded.alert_id``) that needs an action."""
    return _recorded(service().record_vitals, session_id, body), 201


@operation(f"{SESSION}/alerts/<alert_id>/action", "POST", summary="Record the action taken on an alert",
           body=c.RecordAlertAction, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
@requires("Flag", "u", **IN_SESSION)
def record_alert_action(session_id: str, alert_id: str, body: c.RecordAlertAction) -> ResponseReturnValue:
    with fields_as_sent(body):
        state = service().record_alert_action(session_id, alert_id, _acted(body))
    return session_state_view(state, service().settings)


@operation(f"{SESSION}/events", "POST", summary="Record a flowsheet event", body=c.RecordFlowsheetEvent,
           tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("Encounter", "u", **IN_SESSION)
def record_event(session_id: str, body: c.RecordFlowsheetEvent) -> ResponseReturnValue:
    return _recorded(service().record_event, session_id, body), 201


@operation(f"{SESSION}/cadss", "POST", summary="Record a CADSS rating", body=c.RecordCadss,
           tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("Observation", "c", **IN_SESSION)
def record_cadss(session_id: str, body: c.RecordCadss) -> ResponseReturnValue:
    return _recorded(service().record_cadss, session_id, body), 201


@operation(f"{SESSION}/adverse-events", "POST", summary="Record (or update) an adverse event",
           body=c.RecordAdverseEvent, tag="flowsheet", success_status=201, errors=STEP_ERRORS,
           idempotent=True)
@requires("AdverseEvent", "cu", **IN_SESSION)
def record_adverse_event(session_id: str, body: c.RecordAdverseEvent) -> ResponseReturnValue:
    return _recorded(service().record_adverse_event, session_id, body), 201


@operation(f"{SESSION}/administration", "PUT", summary="Record (or correct) the administration record",
           body=c.RecordAdministration, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_administration(session_id: str, body: c.RecordAdministration) -> ResponseReturnValue:
    """Checked against the ordered dose: a difference beyond the clinic's tolerance needs
    ``dose_discrepancy_reason``."""
    return _session_step(service().record_administration, session_id, body)


@operation(f"{SESSION}/pump-changes", "POST", summary="Chart a pump change (rate, pause, resume, stop)",
           body=c.RecordPumpChange, tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_pump_change(session_id: str, body: c.RecordPumpChange) -> ResponseReturnValue:
    """The administration record's segments and the dose given follow every charted change."""
    return _recorded(service().record_pump_change, session_id, body), 201


@operation(f"{SESSION}/cadss/not-rated", "POST", summary="Record why a scheduled CADSS was not rated",
           body=c.RecordCadssNotRated, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
@requires("Observation", "c", **IN_SESSION)
def record_cadss_not_rated(session_id: str, body: c.RecordCadssNotRated) -> ResponseReturnValue:
    """A scheduled CADSS needs a rating or this before discharge; the note lists it."""
    return _session_step(service().record_cadss_not_rated, session_id, body)


@operation(f"{SESSION}/administration/review", "POST", summary="Review given versus ordered",
           body=c.ReviewAdministration, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
@requires("MedicationAdministration", "u", **IN_SESSION)
def review_administration(session_id: str, body: c.ReviewAdministration) -> ResponseReturnValue:
    """Discharge waits for it; saving the administration record with other totals withdraws it."""
    return _session_step(service().review_administration, session_id, body)


@operation(f"{SESSION}/controlled-substance", "PUT", summary="Record the controlled-substance record",
           body=c.RecordControlledSubstance, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
@requires("MedicationAdministration", "cu", **IN_SESSION)
def record_controlled_substance(session_id: str, body: c.RecordControlledSubstance) -> ResponseReturnValue:
    """Drawn = given + wasted, given = the administration record's dose, the waste witnessed by a second
    person; required before the note can be signed."""
    return _session_step(service().record_controlled_substance, session_id, body)


@operation(f"{SESSION}/follow-up-call", "POST", summary="Record the follow-up call's outcome",
           body=c.CompleteFollowUpCall, tag="sessions", errors=STEP_ERRORS, idempotent=True)
@requires("Task", "u", **IN_SESSION)
def complete_follow_up_call(session_id: str, body: c.CompleteFollowUpCall) -> ResponseReturnValue:
    """The Task requested at discharge becomes completed with its outcome."""
    return _session_step(service().complete_follow_up_call, session_id, body)


@operation("/controlled-substances/reconciliation/<day>", "GET", tag="controlled substances",
           summary="A clinic day's controlled-substance reconciliation", errors=(400,))
@requires("MedicationAdministration", "s")
def reconciliation(day: str) -> ResponseReturnValue:
    """Drawn, given and wasted per product and lot for the infusions started on ``day`` (YYYY-MM-DD, the
    clinic's time zone), and every discrepancy (``reconciled`` is true when there is none)."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise DocumentationInputError("day", f"expected a date YYYY-MM-DD, got {day[:20]!r}") from None
    return service().controlled_substance_reconciliation(parsed).to_dict()


# --- procedure note ----------------------------------------------------------------------------------------
@operation(f"{SESSION}/note-preview", "GET", summary="Preview the generated procedure note", tag="notes",
           errors=(404,))
@requires("DocumentReference", "r", **IN_SESSION)
def preview_note(session_id: str) -> ResponseReturnValue:
    return note_preview_view(service().preview_note(session_id))


@operation(f"{SESSION}/notes", "GET", summary="List the versions of the session's note", tag="notes",
           errors=(404,))
@requires("DocumentReference", "s", **IN_SESSION)
def list_notes(session_id: str) -> ResponseReturnValue:
    """Each version with its ``ehr_status``: what the EHR did with it once signed."""
    views = note_views(service().notes(session_id))
    statuses = service().ehr_statuses(NOTE_KIND, [view["note_id"] for view in views])
    return {"session_id": session_id, "notes": [with_ehr_status(view, statuses[view["note_id"]]) for view in views]}


@operation(f"{SESSION}/notes", "POST", summary="Draft the procedure note", body=c.DraftNote, tag="notes",
           success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("DocumentReference", "c", **IN_SESSION)
def draft_note(session_id: str, body: c.DraftNote) -> ResponseReturnValue:
    """Generated from the ended session; 409 when the session has not ended or already has a note."""
    return note_view(service().draft_note(session_id, _acted(body))), 201


@operation("/notes/<note_id>", "GET", summary="Read a note version", tag="notes", errors=(404,))
@requires("DocumentReference", "r", **OF_NOTE)
def read_note(note_id: str) -> ResponseReturnValue:
    """With its ``ehr_status``: sent, applied, refused (with the EHR's reasons) or retrying, once signed."""
    return with_ehr_status(note_version_view(note_id, service().note_versions(note_id)),
                           service().ehr_status(NOTE_KIND, note_id))


@operation("/notes/<note_id>", "PUT", summary="Edit a draft note", body=c.EditNote, tag="notes",
           errors=STEP_ERRORS)
@requires("DocumentReference", "u", **OF_NOTE)
def edit_note(note_id: str, body: c.EditNote) -> ResponseReturnValue:
    """409 for a signed note: amend it instead."""
    return note_view(service().edit_note(note_id, body))


@operation("/notes/<note_id>/sign", "POST", summary="Sign a draft note", body=c.SignNote, tag="notes",
           errors=(*STEP_ERRORS, 403), idempotent=True)
@requires("DocumentReference", "u", **OF_NOTE)
def sign_note(note_id: str, body: c.SignNote) -> ResponseReturnValue:
    """The EHR receives the DocumentReference and the signature Provenance (``note-signed``). Only a prescriber
    signs (403 otherwise: the EHR's PractitionerRole, shared/roles.py), attesting it (``attested``). The signer
    is the signed-in clinician (``Practitioner/<id>``), not the typed ``by``, which is used only where SMART is
    off."""
    require_prescriber(current_context(), "sign a note")
    with fields_as_sent(body):
        return note_view(service().sign_note(note_id, _acted(body)))


@operation("/notes/<note_id>/amend", "POST", summary="Amend a signed note", body=c.AmendNote, tag="notes",
           success_status=201, errors=STEP_ERRORS, idempotent=True)
@requires("DocumentReference", "c", **OF_NOTE)
def amend_note(note_id: str, body: c.AmendNote) -> ResponseReturnValue:
    """A new draft version replacing the signed one; sign it to send it to the EHR."""
    return note_view(service().amend_note(note_id, _acted(body))), 201


# --- errors -----------------------------------------------------------------------------------------------------
def install_error_mapping(app: Flask) -> None:
    """Domain, store and EHR errors → OperationOutcome: bad input 400 naming the field, a step the session cannot
    take 409 with every reason, unknown record 404, no usable weight in the EHR 422, EHR down 503 (transient)."""
    app.register_error_handler(FieldInputError, _bad_input)
    app.register_error_handler(TransitionNotAllowed, _not_allowed)
    app.register_error_handler(RecordNotFound, _not_found)
    app.register_error_handler(StaleRecordError, _stale)
    app.register_error_handler(WeightUnavailable, _no_weight)
    app.register_error_handler(FhirUnavailable, _ehr_down)
    app.register_error_handler(FhirError, _ehr_refused)


def _bad_input(error: FieldInputError) -> ResponseReturnValue:
    return outcome_response(400, [(error.field, error.message)])


def _not_allowed(error: TransitionNotAllowed) -> ResponseReturnValue:
    issues = [("", reason) for reason in error.failing] or [("", error.reason)]
    return outcome_response(409, issues, "business-rule")


def _not_found(error: RecordNotFound) -> ResponseReturnValue:
    return outcome_response(404, [("", str(error.args[0]) if error.args else "not found")], "not-found")


def _stale(error: StaleRecordError) -> ResponseReturnValue:
    return outcome_response(409, [("", f"{error}; reload and try again")], "conflict")


def _no_weight(error: WeightUnavailable) -> ResponseReturnValue:
    return outcome_response(422, [("", str(error))], "not-found")


def _ehr_down(_error: FhirUnavailable) -> ResponseReturnValue:
    return outcome_response(503, [("", "the EHR did not answer; nothing was recorded, try again")], "transient")


def _ehr_refused(error: FhirError) -> ResponseReturnValue:
    return outcome_response(502, [("", f"the EHR refused the request (HTTP {error.status}); nothing was "
                                       "recorded")], "exception")
