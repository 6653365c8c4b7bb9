"""The intake's HTTP API (JSON, OpenAPI at /openapi.json). Views only parse the body, build the command, call the
service layer and present the result; errors become OperationOutcomes here, in one place (``_install_error_handlers``).

The views are module-level functions, each declared once with ``@operation`` (its OpenAPI declaration) and
``@requires`` (its SMART access); ``install_api`` puts them on the app's ``shared.api.Api`` (which needs the app's
database engine for ``Idempotency-Key``) when bootstrap builds the app.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Engine

from services.intake import commands
from services.intake.answers import ANSWERS
from services.intake.access import ELIGIBILITY, INTAKE_RECORD, PART_RESOURCE_TYPES, intake_patient, intake_service
from services.intake.domain.errors import IntakeStateError
from services.intake.ehr_reads import EhrDataError, EhrNotFound, EhrRefused, EhrUnavailable
from services.intake.handlers import IntakeView, ReferralError
from services.intake.presenters import NOT_IN_EHR_TYPES, ehr_record_link, intake_json, intake_summary_json
from services.intake.repository import IntakeNotFound
from shared.api import Api, Operations
from shared.db import StaleRecordError
from shared.errors import FieldInputError
from shared.people import Person
from shared.roles import ATTESTATIONS, acting_person, require_prescriber
from shared.smart import from_body, from_path, requires
from shared.smart.access import current_context
from shared.ui import in_launch_context
from shared.ui.ehr_status import LIST_API_PATH, ehr_status_settings, outstanding_view
from shared.ui.ehr_status import RESOURCE as EHR_STATUS_RESOURCE
from shared.web import ApiError, outcome_response

TITLE, VERSION = "Ketalink intake", "1.0.0"
DESCRIPTION = """Ketamine intake: start an intake for an EHR patient (pre-filled from the EHR), record its parts
(TRD history, contraindication screen, baseline vitals, PHQ-9, MADRS, C-SSRS, consent, clinician overrides), decide
eligibility with every reason, and reopen a decided intake. A decision is published to orders and the EHR as the
FHIR message `intake-eligibility-decided`. Errors are FHIR OperationOutcomes naming the field."""

PART_ERRORS = (400, 404, 409)

OPERATIONS = Operations(ANSWERS)
operation = OPERATIONS.operation


def install_api(app: Flask, engine: Engine) -> None:
    """The operations on ``app`` (with /openapi.json), and the service layer's errors as OperationOutcomes."""
    OPERATIONS.register(Api(TITLE, VERSION, DESCRIPTION, engine)).install(app)
    _install_error_handlers(app)


def _present(view: IntakeView) -> dict[str, Any]:
    return intake_json(view, intake_service().settings)


@operation("/intakes", "POST", summary="Start an intake for an EHR patient, pre-filled from the EHR",
           body=commands.CreateIntake, success_status=201, errors=(400, 422, 503), idempotent=True)
@requires(INTAKE_RECORD, "c", patient=from_body("patient_id"))
def create_intake(body: commands.CreateIntake) -> ResponseReturnValue:
    """Reads the patient, problem list, medication history and latest weight and height from the EHR. With
    `referral_id` the intake belongs to that EHR referral: an existing one is returned with 200."""
    started_by = _actor(body.started_by, body)
    view, created = intake_service().start(commands.StartIntake(body.patient_id, started_by, body.referral_id))
    return _present(view), 201 if created else 200, {"Location": f"/intakes/{view.intake.intake_id}"}


@operation("/intakes/<intake_id>", "GET", summary="An intake, with what is still missing", errors=(404,))
@requires(INTAKE_RECORD, "r", patient=intake_patient)
def get_intake(intake_id: str) -> ResponseReturnValue:
    return _present(intake_service().get(intake_id))


@operation(LIST_API_PATH, "GET", summary="The intake's part of the clinic's \"not in the EHR\" list: every message "
           "the EHR refused, is retrying or left unanswered too long (another patient's: ids and statuses only)",
           errors=())
@requires(EHR_STATUS_RESOURCE, "r", patient=in_launch_context)
def not_in_ehr() -> ResponseReturnValue:
    deliveries = intake_service().not_in_ehr(ehr_status_settings())
    return outstanding_view(deliveries, NOT_IN_EHR_TYPES, ehr_record_link)


@operation("/patients/<patient_id>/intakes", "GET", summary="A patient's intakes, oldest first", errors=(400,))
@requires(INTAKE_RECORD, "s", patient=from_path("patient_id"))
def patient_intakes(patient_id: str) -> ResponseReturnValue:
    if not commands.FHIR_ID.fullmatch(patient_id):
        raise ApiError(400, "not a FHIR resource id (1-64 letters, digits, '-' or '.')", expression="patient_id")
    return {"patient_id": patient_id,
            "intakes": [intake_summary_json(i) for i in intake_service().for_patient(patient_id)]}


@operation("/intakes/<intake_id>/trials", "PUT", summary="Record the confirmed prior antidepressant trials",
           body=commands.Trials, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["trials"], "u", patient=intake_patient)
def put_trials(intake_id: str, body: commands.Trials) -> ResponseReturnValue:
    return _present(intake_service().record_trials(commands.RecordTrials(intake_id, body.to_domain())))


@operation("/intakes/<intake_id>/contraindications", "PUT", summary="Record the contraindication screen",
           body=commands.Contraindications, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["contraindications"], "u", patient=intake_patient)
def put_contraindications(intake_id: str, body: commands.Contraindications) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("contraindications.", "")):
        return _present(service.record_contraindications(commands.RecordContraindications(
            intake_id, body.to_domain(), _actor(body.screened_by, body), body.screened_at or service.clock.now())))


@operation("/intakes/<intake_id>/vitals", "PUT", summary="Record baseline vital signs and body measures",
           body=commands.Vitals, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["vitals"], "u", patient=intake_patient)
def put_vitals(intake_id: str, body: commands.Vitals) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("vitals.", "")):
        return _present(service.record_vitals(commands.RecordVitals(intake_id, body.to_domain(service.clock.now()))))


@operation("/intakes/<intake_id>/phq9", "PUT", summary="Record the PHQ-9 (items 1-9, each 0-3)",
           body=commands.Phq9, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["phq9"], "u", patient=intake_patient)
def put_phq9(intake_id: str, body: commands.Phq9) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("phq9.", "")):
        return _present(service.record_phq9(commands.RecordPhq9(
            intake_id, body.items, body.answered_at or service.clock.now())))


@operation("/intakes/<intake_id>/madrs", "PUT", summary="Record the MADRS (items 1-10, each 0-6)",
           body=commands.Madrs, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["madrs"], "u", patient=intake_patient)
def put_madrs(intake_id: str, body: commands.Madrs) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("madrs.", "")):
        return _present(service.record_madrs(commands.RecordMadrs(
            intake_id, body.items, body.rated_at or service.clock.now(), _rater(body))))


@operation("/intakes/<intake_id>/cssrs", "PUT", summary="Record the C-SSRS screener",
           body=commands.Cssrs, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["cssrs"], "u", patient=intake_patient)
def put_cssrs(intake_id: str, body: commands.Cssrs) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("cssrs.answered_at", "answered_at"), ("cssrs.", "answers.")):
        return _present(service.record_cssrs(commands.RecordCssrs(
            intake_id, body.answers.to_domain(), body.answered_at or service.clock.now())))


@operation("/intakes/<intake_id>/consent", "PUT", summary="Record informed consent and the ride-home agreement",
           body=commands.Consent, errors=PART_ERRORS)
@requires(PART_RESOURCE_TYPES["consent"], "u", patient=intake_patient)
def put_consent(intake_id: str, body: commands.Consent) -> ResponseReturnValue:
    service = intake_service()
    with fields_renamed(("consent.", "")):
        return _present(service.record_consent(commands.RecordConsent(intake_id,
                                                                      body.to_domain(service.clock.now()))))


@operation("/intakes/<intake_id>/overrides", "POST", summary="Record a clinician's override of a relative "
           "contraindication or an interacting drug class", body=commands.Override, errors=PART_ERRORS,
           idempotent=True)
@requires(ELIGIBILITY, "u", patient=intake_patient)
def post_override(intake_id: str, body: commands.Override) -> ResponseReturnValue:
    """Replaces an earlier override of the same item. Absolute contraindications cannot be overridden."""
    service = intake_service()
    # Who overrode is the signed-in clinician, never the typed name (which could be anyone's)
    override = body.to_domain(service.clock.now(), _actor(body.overridden_by, body))
    with fields_renamed(("override.", "")):
        return _present(service.record_override(commands.RecordOverride(intake_id, override)))


@operation("/intakes/<intake_id>/cssrs-review", "PUT", summary="Record the behavioural-health review of a "
           "moderate- or high-risk C-SSRS screen", body=commands.CssrsReview, errors=PART_ERRORS)
@requires(ELIGIBILITY, "u", patient=intake_patient)
def put_cssrs_review(intake_id: str, body: commands.CssrsReview) -> ResponseReturnValue:
    """Moderate risk needs this review before the patient can be eligible; high risk is not eligible until it
    says proceed. Recorded with the signed-in clinician and the time; a new C-SSRS screen needs a new review."""
    with fields_renamed(("cssrs_review.", "")):
        return _present(intake_service().record_cssrs_review(commands.RecordCssrsReview(
            intake_id, body.outcome.value, body.note, _actor(body.reviewed_by, body))))


@operation("/intakes/<intake_id>/urgent-use", "PUT", summary="A prescriber sets the TRD rule aside for urgent use, "
           "with the reason", body=commands.UrgentUse, errors=(400, 403, 404, 409))
@requires(ELIGIBILITY, "u", patient=intake_patient)
def put_urgent_use(intake_id: str, body: commands.UrgentUse) -> ResponseReturnValue:
    """Only a prescriber (the EHR's PractitionerRole, shared/roles.py); contraindications, consent and the
    C-SSRS review still apply. The override is a reason in the decision and its RiskAssessment rationale."""
    roles = require_prescriber(current_context(), "set the TRD rule aside for urgent use")
    with fields_renamed(("urgent_use.", "")):
        return _present(intake_service().record_urgent_use(commands.RecordUrgentUse(
            intake_id, body.reason, _actor(body.overridden_by, body), roles is not None)))


@operation("/intakes/<intake_id>/decision", "POST", summary="Decide eligibility (and tell orders and the EHR)",
           body=commands.Decide, errors=(*PART_ERRORS, 403), idempotent=True)
@requires(ELIGIBILITY, "cu", patient=intake_patient)
def post_decision(intake_id: str, body: commands.Decide) -> ResponseReturnValue:
    """The outcome (eligible / not-eligible / needs-review) with every reason, published as
    `intake-eligibility-decided` on `ketalink.intake.events`. A decided intake must be reopened first. Only a
    prescriber decides (403 otherwise: the EHR's PractitionerRole, shared/roles.py), attesting it (`attested`,
    recorded with the decision)."""
    require_prescriber(current_context(), "decide eligibility")  # the decider: the signed-in prescriber, by reference
    return _present(intake_service().decide(commands.DecideEligibility(
        intake_id, _actor(body.decided_by, body), attestation=ATTESTATIONS["decide-eligibility"])))


@operation("/intakes/<intake_id>/reopen", "POST", summary="Reopen a decided intake (the decision is kept in its "
           "history)", body=commands.Reopen, errors=PART_ERRORS, idempotent=True)
@requires(ELIGIBILITY, "u", patient=intake_patient)
def post_reopen(intake_id: str, body: commands.Reopen) -> ResponseReturnValue:
    # The reopening's Provenance author in the EHR: the signed-in clinician, not the typed name
    return _present(intake_service().reopen(commands.ReopenIntake(
        intake_id, _actor(body.reopened_by, body), body.reason)))


def _rater(body: commands.Madrs) -> Person | None:
    """The MADRS's rater: the signed-in clinician; where SMART is off, the typed name or nobody."""
    if current_context() is None and body.rated_by is None:
        return None
    return _actor(body.rated_by, body)


def _actor(typed: str | None, body: commands.Acted) -> Person:
    """Who does it: the request's clinician from its SMART context (``shared.roles.acting_person``: the token's
    fhirUser by reference, with the EHR's name), never a name in the body (``typed`` is read only where SMART is
    off, local runs)."""
    return acting_person(current_context(), typed, on_behalf_of=body.on_behalf_of, ehr=intake_service().fhir)


@contextlib.contextmanager
def fields_renamed(*renames: tuple[str, str]) -> Iterator[None]:
    """Domain input errors name fields from the intake's point of view (``phq9.items[8]``); the request body
    names them from its own (``items[8]``). The first matching (domain prefix, body prefix) pair rewrites them."""
    try:
        yield
    except FieldInputError as error:
        field = next((body + error.field[len(domain):] for domain, body in renames if error.field.startswith(domain)),
                     error.field)
        raise ApiError(400, error.message, expression=field) from None


def _install_error_handlers(app: Flask) -> None:
    """The service layer's errors as OperationOutcomes (more specific than web.install's catch-all)."""

    def outcome(status: int, field: str, message: str, code: str) -> tuple[Response, int]:
        return outcome_response(status, [(field, message)], code)

    app.register_error_handler(IntakeNotFound, lambda e: outcome(404, "intake_id", str(e), "not-found"))
    app.register_error_handler(IntakeStateError, lambda e: outcome(409, e.field, e.message, "business-rule"))
    app.register_error_handler(StaleRecordError, lambda e: outcome(
        409, "", "the intake changed at the same time; read it again and retry", "conflict"))
    app.register_error_handler(ReferralError, lambda e: outcome(
        422, "referral_id", f"the referral cannot start an intake: {e.field}: {e.message}", "processing"))
    app.register_error_handler(FieldInputError, lambda e: outcome(400, e.field, e.message, "invalid"))
    app.register_error_handler(EhrNotFound, lambda e: outcome(
        422, e.field, f"{e.reference} is not in the EHR", "not-found"))
    app.register_error_handler(EhrDataError, lambda e: outcome(
        422, e.field, f"the EHR's {e.reference} cannot be read: {e.message}", "processing"))
    app.register_error_handler(EhrUnavailable, lambda e: outcome(
        503, "", "the EHR is not answering; nothing was written, try again shortly", "transient"))
    app.register_error_handler(EhrRefused, lambda e: outcome(502, "", str(e), "exception"))
