"""The documentation service's REST API (OpenAPI at ``/openapi.json``). Views are thin: the validated body goes to
the service layer, its answer comes back as JSON; domain and EHR errors become OperationOutcomes here."""
from __future__ import annotations

from shared.errors import FieldInputError

from datetime import date

from flask import Flask
from sqlalchemy.engine import Engine

from services.documentation import commands as rm
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.ehr_reads import WeightUnavailable
from services.documentation.handlers import DocumentationService
from shared.api import Api
from shared.db import RecordNotFound, StaleRecordError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.roles import require_prescriber, signer_name
from shared.smart import current_context, from_path, requires
from shared.web import outcome_response

DESCRIPTION = ("The monitored ketamine infusion session: check-in, pre-infusion check against the clinic's hold "
               "rules, vitals flowsheet with alerts, CADSS, adverse events, administration record, recovery and "
               "discharge, and the signed procedure note. Changes the EHR must know about are sent to it as FHIR "
               "messages on ketalink.documentation.events. Clinical times (`at`) default to now and may not lie "
               "in the future.")
SESSION = "/sessions/<session_id>"
STEP_ERRORS = (400, 404, 409)


def create_api(service: DocumentationService, engine: Engine) -> Api:
    api = Api("Ketalink documentation", "1.0.0", DESCRIPTION, engine)

    def session_patient(args: dict) -> str:
        """The patient of the session in the path, for the SMART check (an unknown session is a 404)."""
        return service.session(args["session_id"])["patient_id"]

    def note_patient(args: dict) -> str:
        return service.note(args["note_id"])["patient_id"]

    in_session = {"patient": session_patient}
    of_note = {"patient": note_patient}

    # --- sessions ----------------------------------------------------------------------------------------------
    @api.operation("/patients/<patient_id>/sessions", "GET", summary="List a patient's infusion sessions",
                   tag="sessions", errors=())
    @requires("Encounter", "s", patient=from_path("patient_id"))
    def list_sessions(patient_id: str):  # type: ignore[no-untyped-def]
        """Every session scheduled from the patient's orders, in schedule order (summaries)."""
        return {"patient_id": patient_id, "sessions": service.sessions_for_patient(patient_id)}

    @api.operation(SESSION, "GET", summary="Read a session", tag="sessions", errors=(404,))
    @requires("Encounter", "r", **in_session)
    def read_session(session_id: str):  # type: ignore[no-untyped-def]
        """The whole session with the order's dose, and the readings and CADSS ratings due or missed now."""
        return service.session(session_id)

    @api.operation(f"{SESSION}/check-in", "POST", summary="Check the patient in", body=rm.CheckIn,
                   tag="sessions", errors=STEP_ERRORS + (403,), idempotent=True)
    @requires("Encounter", "u", **in_session)
    def check_in(session_id: str, body: rm.CheckIn):  # type: ignore[no-untyped-def]
        """409 outside the infusion's window or sooner than the clinic's minimum interval after the patient's
        previous infusion; ``override_reason`` (with ``override_by``) sets that aside, for a prescriber only (403
        otherwise, from the EHR's PractitionerRole of the signed-in clinician), recorded under the signed-in
        prescriber's name (``override_by`` only where SMART is off)."""
        if body.override_reason:
            context = current_context()
            require_prescriber(context, "override an infusion's window or minimum interval")
            body = body.model_copy(update={"override_by": signer_name(context, body.override_by or "")})
        return service.check_in(session_id, body)

    @api.operation(f"{SESSION}/pre-check", "POST", summary="Record a pre-infusion check", body=rm.PreCheck,
                   tag="sessions", errors=STEP_ERRORS + (422, 503), idempotent=True)
    @requires("Encounter", "u", **in_session)
    @requires("Observation", "c", **in_session)
    def pre_check(session_id: str, body: rm.PreCheck):  # type: ignore[no-untyped-def]
        """Vitals and confirmations against the hold rules; the patient's latest weight is read from the EHR now
        and compared with the weight the dose was calculated from (422 when the EHR has none, 503 when the EHR
        does not answer)."""
        return service.pre_check(session_id, body)

    @api.operation(f"{SESSION}/pre-check/override", "POST", summary="Override a pre-infusion hold",
                   body=rm.HoldOverride, tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    def override_hold(session_id: str, body: rm.HoldOverride):  # type: ignore[no-untyped-def]
        return service.override_hold(session_id, body)

    @api.operation(f"{SESSION}/pre-check/suicide-risk-review", "POST",
                   summary="Record a clinician's suicide-risk review before the infusion", body=rm.SuicideRiskReview,
                   tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    def review_suicide_risk(session_id: str, body: rm.SuicideRiskReview):  # type: ignore[no-untyped-def]
        """Covers today's high-risk C-SSRS and every suicidality alert open now; the infusion starts only after a
        review deciding to proceed (409 when there is nothing to review)."""
        return service.review_suicide_risk(session_id, body)

    @api.operation(f"{SESSION}/start", "POST", summary="Start the infusion", body=rm.StartInfusion,
                   tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    @requires("Procedure", "c", **in_session)
    def start_infusion(session_id: str, body: rm.StartInfusion):  # type: ignore[no-untyped-def]
        """409 listing every reason when the latest pre-infusion check does not allow it."""
        return service.start_infusion(session_id, body)

    @api.operation(f"{SESSION}/end", "POST", summary="End the infusion (recovery begins)", body=rm.EndInfusion,
                   tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Procedure", "u", **in_session)
    def end_infusion(session_id: str, body: rm.EndInfusion):  # type: ignore[no-untyped-def]
        return service.end_infusion(session_id, body)

    @api.operation(f"{SESSION}/discharge", "POST", summary="Discharge the patient", body=rm.Discharge,
                   tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    @requires("Procedure", "u", **in_session)
    def discharge(session_id: str, body: rm.Discharge):  # type: ignore[no-untyped-def]
        """409 with one issue per failing criterion unless ``override_reason`` is given."""
        return service.discharge(session_id, body)

    @api.operation(f"{SESSION}/defer", "POST", summary="Defer the infusion", body=rm.Defer, tag="sessions",
                   errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    def defer(session_id: str, body: rm.Defer):  # type: ignore[no-untyped-def]
        return service.defer(session_id, body)

    @api.operation(f"{SESSION}/abort", "POST", summary="Abort the session", body=rm.Abort, tag="sessions",
                   errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    @requires("Procedure", "u", **in_session)
    def abort(session_id: str, body: rm.Abort):  # type: ignore[no-untyped-def]
        return service.abort(session_id, body)

    # --- flowsheet ---------------------------------------------------------------------------------------------
    @api.operation(f"{SESSION}/vitals", "POST", summary="Record vital signs", body=rm.RecordVitals,
                   tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("Observation", "c", **in_session)
    def record_vitals(session_id: str, body: rm.RecordVitals):  # type: ignore[no-untyped-def]
        """A reading crossing an alert threshold raises an alert (``recorded.alert_id``) that needs an action."""
        return service.record_vitals(session_id, body), 201

    @api.operation(f"{SESSION}/alerts/<alert_id>/action", "POST", summary="Record the action taken on an alert",
                   body=rm.RecordAlertAction, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
    @requires("Flag", "u", **in_session)
    def record_alert_action(session_id: str, alert_id: str, body: rm.RecordAlertAction):  # type: ignore[no-untyped-def]
        return service.record_alert_action(session_id, alert_id, body)

    @api.operation(f"{SESSION}/events", "POST", summary="Record a flowsheet event", body=rm.RecordFlowsheetEvent,
                   tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("Encounter", "u", **in_session)
    def record_event(session_id: str, body: rm.RecordFlowsheetEvent):  # type: ignore[no-untyped-def]
        return service.record_event(session_id, body), 201

    @api.operation(f"{SESSION}/cadss", "POST", summary="Record a CADSS rating", body=rm.RecordCadss,
                   tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("Observation", "c", **in_session)
    def record_cadss(session_id: str, body: rm.RecordCadss):  # type: ignore[no-untyped-def]
        return service.record_cadss(session_id, body), 201

    @api.operation(f"{SESSION}/adverse-events", "POST", summary="Record (or update) an adverse event",
                   body=rm.RecordAdverseEvent, tag="flowsheet", success_status=201, errors=STEP_ERRORS,
                   idempotent=True)
    @requires("AdverseEvent", "cu", **in_session)
    def record_adverse_event(session_id: str, body: rm.RecordAdverseEvent):  # type: ignore[no-untyped-def]
        return service.record_adverse_event(session_id, body), 201

    @api.operation(f"{SESSION}/administration", "PUT", summary="Record (or correct) the administration record",
                   body=rm.RecordAdministration, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
    @requires("MedicationAdministration", "cu", **in_session)
    def record_administration(session_id: str, body: rm.RecordAdministration):  # type: ignore[no-untyped-def]
        """Checked against the ordered dose: a difference beyond the clinic's tolerance needs
        ``dose_discrepancy_reason``."""
        return service.record_administration(session_id, body)

    @api.operation(f"{SESSION}/pump-changes", "POST", summary="Chart a pump change (rate, pause, resume, stop)",
                   body=rm.RecordPumpChange, tag="flowsheet", success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("MedicationAdministration", "cu", **in_session)
    def record_pump_change(session_id: str, body: rm.RecordPumpChange):  # type: ignore[no-untyped-def]
        """The administration record's segments and the dose given follow every charted change."""
        return service.record_pump_change(session_id, body), 201

    @api.operation(f"{SESSION}/cadss/not-rated", "POST", summary="Record why a scheduled CADSS was not rated",
                   body=rm.RecordCadssNotRated, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
    @requires("Observation", "c", **in_session)
    def record_cadss_not_rated(session_id: str, body: rm.RecordCadssNotRated):  # type: ignore[no-untyped-def]
        """A scheduled CADSS needs a rating or this before discharge; the note lists it."""
        return service.record_cadss_not_rated(session_id, body)

    @api.operation(f"{SESSION}/administration/review", "POST", summary="Review given versus ordered",
                   body=rm.ReviewAdministration, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
    @requires("MedicationAdministration", "u", **in_session)
    def review_administration(session_id: str, body: rm.ReviewAdministration):  # type: ignore[no-untyped-def]
        """Discharge waits for it; saving the administration record with other totals withdraws it."""
        return service.review_administration(session_id, body)

    @api.operation(f"{SESSION}/controlled-substance", "PUT", summary="Record the controlled-substance record",
                   body=rm.RecordControlledSubstance, tag="flowsheet", errors=STEP_ERRORS, idempotent=True)
    @requires("MedicationAdministration", "cu", **in_session)
    def record_controlled_substance(session_id: str,  # type: ignore[no-untyped-def]
                                    body: rm.RecordControlledSubstance):
        """Drawn = given + wasted, given = the administration record's dose, the waste witnessed by a second
        person; required before the note can be signed."""
        return service.record_controlled_substance(session_id, body)

    @api.operation(f"{SESSION}/follow-up-call", "POST", summary="Record the follow-up call's outcome",
                   body=rm.CompleteFollowUpCall, tag="sessions", errors=STEP_ERRORS, idempotent=True)
    @requires("Task", "u", **in_session)
    def complete_follow_up_call(session_id: str, body: rm.CompleteFollowUpCall):  # type: ignore[no-untyped-def]
        """The Task requested at discharge becomes completed with its outcome."""
        return service.complete_follow_up_call(session_id, body)

    @api.operation("/controlled-substances/reconciliation/<day>", "GET", tag="controlled substances",
                   summary="A clinic day's controlled-substance reconciliation", errors=(400,))
    @requires("MedicationAdministration", "s")
    def reconciliation(day: str):  # type: ignore[no-untyped-def]
        """Drawn, given and wasted per product and lot for the infusions started on ``day`` (YYYY-MM-DD, the
        clinic's time zone), and every discrepancy (``reconciled`` is true when there is none)."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            raise DocumentationInputError("day", f"expected a date YYYY-MM-DD, got {day[:20]!r}") from None
        return service.controlled_substance_reconciliation(parsed)

    # --- procedure note ----------------------------------------------------------------------------------------
    @api.operation(f"{SESSION}/note-preview", "GET", summary="Preview the generated procedure note", tag="notes",
                   errors=(404,))
    @requires("DocumentReference", "r", **in_session)
    def preview_note(session_id: str):  # type: ignore[no-untyped-def]
        return service.preview_note(session_id)

    @api.operation(f"{SESSION}/notes", "GET", summary="List the versions of the session's note", tag="notes",
                   errors=(404,))
    @requires("DocumentReference", "s", **in_session)
    def list_notes(session_id: str):  # type: ignore[no-untyped-def]
        return {"session_id": session_id, "notes": service.notes(session_id)}

    @api.operation(f"{SESSION}/notes", "POST", summary="Draft the procedure note", body=rm.DraftNote, tag="notes",
                   success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("DocumentReference", "c", **in_session)
    def draft_note(session_id: str, body: rm.DraftNote):  # type: ignore[no-untyped-def]
        """Generated from the ended session; 409 when the session has not ended or already has a note."""
        return service.draft_note(session_id, body), 201

    @api.operation("/notes/<note_id>", "GET", summary="Read a note version", tag="notes", errors=(404,))
    @requires("DocumentReference", "r", **of_note)
    def read_note(note_id: str):  # type: ignore[no-untyped-def]
        return service.note(note_id)

    @api.operation("/notes/<note_id>", "PUT", summary="Edit a draft note", body=rm.EditNote, tag="notes",
                   errors=STEP_ERRORS)
    @requires("DocumentReference", "u", **of_note)
    def edit_note(note_id: str, body: rm.EditNote):  # type: ignore[no-untyped-def]
        """409 for a signed note: amend it instead."""
        return service.edit_note(note_id, body)

    @api.operation("/notes/<note_id>/sign", "POST", summary="Sign a draft note", body=rm.SignNote, tag="notes",
                   errors=(*STEP_ERRORS, 403), idempotent=True)
    @requires("DocumentReference", "u", **of_note)
    def sign_note(note_id: str, body: rm.SignNote):  # type: ignore[no-untyped-def]
        """The EHR receives the DocumentReference and the signature Provenance (``note-signed``). Only a prescriber
        signs (403 otherwise: the EHR's PractitionerRole, shared/roles.py), attesting it (``attested``). The signer
        is the signed-in clinician, not the typed ``by``, which is used only where SMART is off."""
        context = current_context()
        require_prescriber(context, "sign a note")
        return service.sign_note(note_id, body.model_copy(update={"by": signer_name(context, body.by)}))

    @api.operation("/notes/<note_id>/amend", "POST", summary="Amend a signed note", body=rm.AmendNote, tag="notes",
                   success_status=201, errors=STEP_ERRORS, idempotent=True)
    @requires("DocumentReference", "c", **of_note)
    def amend_note(note_id: str, body: rm.AmendNote):  # type: ignore[no-untyped-def]
        """A new draft version replacing the signed one; sign it to send it to the EHR."""
        return service.amend_note(note_id, body), 201

    return api


def install_error_mapping(app: Flask) -> None:
    """Domain, store and EHR errors → OperationOutcome: bad input 400 naming the field, a step the session cannot
    take 409 with every reason, unknown record 404, no usable weight in the EHR 422, EHR down 503 (transient)."""

    @app.errorhandler(FieldInputError)
    def _bad_input(error: DocumentationInputError):  # type: ignore[no-untyped-def]
        return outcome_response(400, [(error.field, error.message)])

    @app.errorhandler(TransitionNotAllowed)
    def _not_allowed(error: TransitionNotAllowed):  # type: ignore[no-untyped-def]
        issues = [("", reason) for reason in error.failing] or [("", error.reason)]
        return outcome_response(409, issues, "business-rule")

    @app.errorhandler(RecordNotFound)
    def _not_found(error: RecordNotFound):  # type: ignore[no-untyped-def]
        return outcome_response(404, [("", str(error.args[0]) if error.args else "not found")], "not-found")

    @app.errorhandler(StaleRecordError)
    def _stale(error: StaleRecordError):  # type: ignore[no-untyped-def]
        return outcome_response(409, [("", f"{error}; reload and try again")], "conflict")

    @app.errorhandler(WeightUnavailable)
    def _no_weight(error: WeightUnavailable):  # type: ignore[no-untyped-def]
        return outcome_response(422, [("", str(error))], "not-found")

    @app.errorhandler(FhirUnavailable)
    def _ehr_down(_error: FhirUnavailable):  # type: ignore[no-untyped-def]
        return outcome_response(503, [("", "the EHR did not answer; nothing was recorded, try again")], "transient")

    @app.errorhandler(FhirError)
    def _ehr_refused(error: FhirError):  # type: ignore[no-untyped-def]
        return outcome_response(502, [("", f"the EHR refused the request (HTTP {error.status}); nothing was "
                                           "recorded")], "exception")
