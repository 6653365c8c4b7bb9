"""The orders HTTP API (Flask + OpenAPI at ``/openapi.json``). Views are thin: body model → command → service
layer → JSON. Errors become OperationOutcomes here, by kind: bad input 400, unknown order 404, conflicts 409,
refusals by the protocol or the EHR's data 422, EHR unreachable 503 (``transient``).

Every operation declares the SMART scopes it needs (``@requires``: FHIR resource type, v2 action letters and where
the patient comes from), checked before the body is parsed. An order's patient is read from the order itself
(``access.order_patient``). The views are module-level and declared with ``@operation``; ``OPERATIONS.register``
puts them on the app's ``Api`` (route, body model and OpenAPI declaration) and ``answer_errors`` maps the errors,
both called by ``bootstrap``."""
from __future__ import annotations


from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue

from services.orders.answers import ANSWERS
from shared.api import Operations
from shared.db import StaleRecordError
from shared.errors import FhirMappingError, FieldInputError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.people import Person
from shared.roles import acting_person, require_prescriber
from shared.smart import current_context, from_body, from_path, requires
from shared.ui import in_launch_context
from shared.ui.ehr_status import LIST_API_PATH, ehr_status_settings, outstanding_view
from shared.ui.ehr_status import RESOURCE as EHR_STATUS_RESOURCE
from shared.web import outcome_response
from services.orders.access import order_patient, orders_service
from services.orders.commands import (
    CancelBody, ChangeBody, ChangeOrder, CreateOrderBody, DosePreviewBody, HoldBody, ResumeBody, SignBody,
)
from services.orders.domain.errors import EligibilityRefusedError, IllegalTransitionError, StaleWeightError
from services.orders.ehr_reads import UnknownPatientError
from services.orders.handlers import ActiveSeriesError
from services.orders.presenters import (
    NOT_IN_EHR_TYPES, eligibility_view, ehr_record_link, order_view, patient_series_view, preview_view,
    with_ehr_status,
)
from services.orders.repository import OrderNotFoundError

DESCRIPTION = ("Weight-based IV ketamine infusion orders and their treatment series. Signed, held, resumed and "
               "cancelled orders are published to the EHR as FHIR messages on ketalink.orders.events.")
ORDER_CHANGE_ERRORS = (400, 404, 409, 422)
OPERATIONS = Operations(ANSWERS)
operation = OPERATIONS.operation


# --- views ---------------------------------------------------------------------------------------------------------
@operation("/dose-preview", "POST", summary="Calculate a dose from the EHR's latest weight (nothing is written)",
           body=DosePreviewBody, errors=(400, 422, 503), tag="dose")
@requires("Patient", "r", patient=from_body("patient_id"))
@requires("Observation", "r", patient=from_body("patient_id"))
def preview_dose(body: DosePreviewBody) -> ResponseReturnValue:
    """Every input (weight and when it was measured, basis, mg/kg, cap, concentration, rounding) and the
    text the prescriber checks. 422 when the weight is missing or older than the clinic's window. An override is
    authorised by the signed-in clinician."""
    actor = None if body.override is None else _actor(body.override.authorised_by, body.on_behalf_of)
    return jsonify(preview_view(body.patient_id, orders_service().preview_dose(body.to_command(actor))))


@operation("/orders", "POST", summary="Create a draft order with its induction series", body=CreateOrderBody,
           success_status=201, errors=(400, 409, 422, 503), tag="orders", idempotent=True)
@requires("MedicationRequest", "c", patient=from_body("patient_id"))
@requires("CarePlan", "c", patient=from_body("patient_id"))
def create_order(body: CreateOrderBody) -> ResponseReturnValue:
    """Refused (422, every reason) unless the patient's latest intake decision is eligible with consent on
    file and the weight is recent; 409 while the patient has a signed series. Created (and any override
    authorised) by the signed-in clinician, not the typed `created_by`, which is used only where SMART is off."""
    service = orders_service()
    current = service.create_order(body.to_command(_actor(body.created_by, body.on_behalf_of)))
    return jsonify(order_view(current, service.settings)), 201, {"Location": f"/orders/{current.order.order_id}"}


@operation("/orders/<order_id>/sign", "POST", summary="Sign a draft order (publishes order-signed)", body=SignBody,
           errors=(*ORDER_CHANGE_ERRORS, 403), tag="orders", idempotent=True)
@requires("MedicationRequest", "u", patient=order_patient)
@requires("CarePlan", "u", patient=order_patient)
def sign_order(order_id: str, body: SignBody) -> ResponseReturnValue:
    """Only a prescriber signs (403 otherwise: the EHR's PractitionerRole, shared/roles.py), attesting it
    (`attested`, recorded with the signature in the order's history). The signer is the signed-in clinician,
    not the typed `signed_by`, which is used only where SMART is off."""
    require_prescriber(current_context(), "sign an order")
    command = body.to_command(order_id, _actor(body.signed_by, body.on_behalf_of))
    service = orders_service()
    return jsonify(order_view(service.sign_order(command), service.settings))


@operation("/orders/<order_id>/hold", "POST", summary="Put an active order on hold (order-changed)", body=HoldBody,
           errors=ORDER_CHANGE_ERRORS, tag="orders", idempotent=True)
@requires("MedicationRequest", "u", patient=order_patient)
@requires("CarePlan", "u", patient=order_patient)
def hold_order(order_id: str, body: HoldBody) -> ResponseReturnValue:
    service = orders_service()
    return jsonify(order_view(service.hold_order(_changed(order_id, body)), service.settings))


@operation("/orders/<order_id>/resume", "POST", summary="Resume an order on hold (order-changed)", body=ResumeBody,
           errors=ORDER_CHANGE_ERRORS, tag="orders", idempotent=True)
@requires("MedicationRequest", "u", patient=order_patient)
@requires("CarePlan", "u", patient=order_patient)
def resume_order(order_id: str, body: ResumeBody) -> ResponseReturnValue:
    service = orders_service()
    return jsonify(order_view(service.resume_order(_changed(order_id, body)), service.settings))


@operation("/orders/<order_id>/cancel", "POST",
           summary="Cancel an order; its series is revoked " "(order-cancelled once signed)", body=CancelBody,
           errors=ORDER_CHANGE_ERRORS, tag="orders", idempotent=True)
@requires("MedicationRequest", "u", patient=order_patient)
@requires("CarePlan", "u", patient=order_patient)
def cancel_order(order_id: str, body: CancelBody) -> ResponseReturnValue:
    service = orders_service()
    return jsonify(order_view(service.cancel_order(_changed(order_id, body)), service.settings))


@operation("/orders/<order_id>", "GET", summary="An order with its calculation, history and series", errors=(404,),
           tag="orders")
@requires("MedicationRequest", "r", patient=order_patient)
@requires("CarePlan", "r", patient=order_patient)
def get_order(order_id: str) -> ResponseReturnValue:
    """With its ``ehr_status``: what the EHR did with the order's messages (sent, applied, refused with the EHR's
    reasons, retrying; "not-sent" for a draft)."""
    service = orders_service()
    return jsonify(with_ehr_status(order_view(service.get_order(order_id), service.settings),
                                   service.order_ehr_status(order_id)))


@operation(LIST_API_PATH, "GET", summary="The orders service's part of the clinic's \"not in the EHR\" list: every "
           "message the EHR refused, is retrying or left unanswered too long (another patient's: ids and statuses "
           "only)", errors=(), tag="orders")
@requires(EHR_STATUS_RESOURCE, "r", patient=in_launch_context)
def not_in_ehr() -> ResponseReturnValue:
    deliveries = orders_service().not_in_ehr(ehr_status_settings())
    return jsonify(outstanding_view(deliveries, NOT_IN_EHR_TYPES, ehr_record_link))


@operation("/patients/<patient_id>/series", "GET", summary="The patient's treatment series", errors=(), tag="patients")
@requires("CarePlan", "s", patient=from_path("patient_id"))
@requires("MedicationRequest", "s", patient=from_path("patient_id"))
def patient_series(patient_id: str) -> ResponseReturnValue:
    """Oldest first: phase, status, counts, each infusion's window and when re-evaluation is due."""
    service = orders_service()
    return jsonify(patient_series_view(patient_id, service.patient_orders(patient_id), service.settings))


@operation("/patients/<patient_id>/eligibility", "GET", summary="The patient's latest intake eligibility decision",
           errors=(404,), tag="patients")
@requires("RiskAssessment", "s", patient=from_path("patient_id"))
@requires("Consent", "s", patient=from_path("patient_id"))
def patient_eligibility(patient_id: str) -> ResponseReturnValue:
    decision = orders_service().patient_eligibility(patient_id)
    if decision is None:
        missing = "no intake eligibility decision is on file for the patient"
        return outcome_response(404, [("patient_id", missing)], "not-found")
    return jsonify(eligibility_view(decision))


def _actor(typed: str | None, on_behalf_of: str | None) -> Person:
    """Who acts: the request's clinician from its SMART context (``shared.roles.acting_person``), never a name in
    the body (``typed`` is read only where SMART is off)."""
    return acting_person(current_context(), typed, on_behalf_of=on_behalf_of, ehr=orders_service().ehr)


def _changed(order_id: str, body: ChangeBody) -> ChangeOrder:
    """Hold, resume or cancel by the signed-in clinician."""
    return body.to_command(order_id, _actor(body.typed_name, body.on_behalf_of))


# --- errors → OperationOutcome ---------------------------------------------------------------------------------------
def answer_errors(app: Flask) -> None:
    """Domain and EHR errors → OperationOutcome; Flask picks the most specific handler for each exception."""
    app.register_error_handler(FieldInputError, _input)
    app.register_error_handler(UnknownPatientError, _unknown_patient)
    app.register_error_handler(OrderNotFoundError, _unknown_order)
    app.register_error_handler(StaleRecordError, _concurrent)
    app.register_error_handler(FhirUnavailable, _ehr_down)
    app.register_error_handler(FhirError, _ehr_refused)


def _input(error: FieldInputError) -> tuple[Response, int]:
    status, code = _status_of(error)
    return outcome_response(status, [(v.field, v.message) for v in error.violations], code)


def _unknown_patient(error: UnknownPatientError) -> tuple[Response, int]:
    return outcome_response(422, [("patient_id", str(error))], "not-found")


def _unknown_order(error: OrderNotFoundError) -> tuple[Response, int]:
    return outcome_response(404, [("order_id", str(error))], "not-found")


def _concurrent(_error: StaleRecordError) -> tuple[Response, int]:
    return outcome_response(409, [("", "the order was changed by another request; reload it and try again")],
                            "conflict")


def _ehr_down(_error: FhirUnavailable) -> tuple[Response, int]:
    return outcome_response(503, [("", "the EHR cannot be reached; nothing was written, try again later")],
                            "transient")


def _ehr_refused(error: FhirError) -> tuple[Response, int]:
    return outcome_response(502, [("", f"the EHR refused a read (HTTP {error.status}); nothing was written")],
                            "exception")


def _status_of(error: FieldInputError) -> tuple[int, str]:
    if isinstance(error, (IllegalTransitionError, ActiveSeriesError)):
        return 409, "conflict"
    if isinstance(error, (EligibilityRefusedError, StaleWeightError)):
        return 422, "business-rule"
    if isinstance(error, FhirMappingError):  # the EHR's own data cannot be used (e.g. a weight in grams)
        return 422, "processing"
    return 400, "invalid"
