"""The orders service layer: each function reads what it needs (EHR first, outside the SQL transaction), asks the
pure domain, then writes the record and its outbox event in one ``runtime.transaction()``. HTTP requests and Kafka
messages end up here alike; domain errors pass through for the caller to answer (4xx, or a response message).

Kafka handlers run inside the consumer's transaction (``conn``), which also records the message id, so a
redelivered message changes nothing. The consumer routes response messages (the EHR's answers, which carry the
event code of the message answered) to ``on_ehr_response`` only, so the event handlers never see one."""
from __future__ import annotations

from shared.errors import FieldInputError

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from shared.events.consumer import PermanentError, TransientError
from shared.events.topics import ORDERS_EVENTS
from shared.fhir.client import FhirError, FhirUnavailable
from shared.fhir.datatypes import reference_id
from shared.fhir.messaging import Message, ResponseCode
from shared.runtime import ServiceRuntime
from services.orders.commands import ChangeOrder, CreateOrder, OverrideRequest, PreviewDose
from services.orders.domain import lifecycle
from services.orders.domain.cpoe import CpoeDecision, check_cpoe_order
from services.orders.domain.dose import DoseCalculation, DoseOverride, calculate_dose
from services.orders.domain.eligibility import EligibilityDecision, eligibility_violations, withdrawn
from services.orders.domain.errors import (
    EligibilityRefusedError, OrdersInputError, StaleWeightError, Violation,
)
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.series import InfusionStatus, plan_induction, record_infusion
from services.orders.domain.session_outcome import SessionOutcome
from services.orders.domain.settings import ProtocolSettings, WeightBasis
from services.orders.domain.timestamps import current_moment
from services.orders.ehr_reads import PatientFacts, read_patient_facts
from services.orders.errors import ActiveSeriesError, OrderNotFoundError, UnknownPatientError
from services.orders.messages import (
    cpoe_response_message, cpoe_unreadable_response, infusion_recorded_message, order_event_message,
)
from services.orders.repository import OrdersRepository
from services.orders.translators.eligibility_in import eligibility_from_resources
from shared.errors import FhirMappingError
from services.orders.translators.risk_assessment_in import withdrawal_from_risk_assessment
from services.orders.translators.medication_request_in import prescribed_infusion
from services.orders.translators.session_completed_in import session_outcome

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "Ketalink orders service"  # who a change the service makes on an event is recorded as
# Who a series infusion marked from documentation's session (and the order completed with it) is recorded as: the
# same author as the course's own steps, as the EHR has always seen it.
SESSION_MARKED_BY = "Ketalink"
INTAKE_REOPENED_HOLD_REASON = ("eligibility withdrawn: the intake was reopened; resume only after a new eligibility "
                               "decision")

T = TypeVar("T")
Clock = Callable[[], datetime]
OrderStep = Callable[[Connection, OrderWithSeries, datetime], OrderWithSeries]
# Told of every order event inside its transaction (after it is enqueued), e.g. the treatment course starts when an
# induction order is signed, in the same transaction as the sign.
OrderListener = Callable[[Connection, OrderWithSeries, str], None]


class OrdersService:
    def __init__(self, runtime: ServiceRuntime, settings: ProtocolSettings,
                 repository: OrdersRepository | None = None, clock: Clock | None = None,
                 order_listeners: tuple[OrderListener, ...] = ()):
        self._runtime = runtime
        self.settings = settings
        self._repo = repository or OrdersRepository()
        self._clock = clock
        self._order_listeners = order_listeners

    # --- HTTP: dose and orders -------------------------------------------------------------------------------
    def preview_dose(self, command: PreviewDose) -> DoseCalculation:
        """The calculation an order would carry now; nothing is written."""
        settings = self._settings_for(command.weight_basis)
        facts = self._facts(command.patient_id, settings)
        now = self._now()
        return calculate_dose(facts.weight, facts.height, facts.sex, settings,
                              override=_override(command.override, now), mg_per_kg=command.mg_per_kg,
                              duration_min=command.duration_min, now=now)

    def create_order(self, command: CreateOrder) -> OrderWithSeries:
        """A draft order with its draft induction series. Refused, with every reason at once, unless the patient's
        latest eligibility is eligible with consent on file, the weight is recent and the dose and schedule are
        within the protocol; refused (409) while the patient has a signed series."""
        settings = self._settings_for(command.weight_basis)
        facts = self._facts(command.patient_id, settings)
        now = self._now()
        override = _override(command.override, now)
        with self._runtime.transaction() as conn:
            self._refuse_second_series(conn, command.patient_id)
            eligibility = self._repo.eligibility(conn, command.patient_id)
            refusals = eligibility_violations(eligibility, command.patient_id)
            calculation, dose_problems = _attempt(lambda: calculate_dose(
                facts.weight, facts.height, facts.sex, settings, override=override, mg_per_kg=command.mg_per_kg,
                duration_min=command.duration_min, now=now))
            series, series_problems = _attempt(lambda: plan_induction(
                command.patient_id, command.start_date, settings, infusions_per_week=command.infusions_per_week,
                infusion_count=command.infusion_count, now=now))
            _raise_all(refusals, dose_problems + series_problems)
            assert calculation is not None and series is not None  # no problems means both were made
            current = lifecycle.create_order(command.patient_id, eligibility, calculation, series,
                                             command.created_by, settings, now=now)
            self._repo.add_order(conn, current)
        log.info("order created", extra={"order_id": current.order.order_id, "patient_id": command.patient_id})
        return current

    def sign_order(self, command: ChangeOrder) -> OrderWithSeries:
        """draft → active; re-checks eligibility, consent and the weight's age, and that no other series runs."""
        def sign(conn: Connection, current: OrderWithSeries, now: datetime) -> OrderWithSeries:
            eligibility = self._repo.eligibility(conn, current.order.patient_id)
            signed = lifecycle.sign_order(current, eligibility, command.by, self.settings, now=now)
            if command.attestation:  # the prescriber's attestation, kept with the signature (shared/roles.py)
                *before, signature = signed.order.history
                signed = replace(signed, order=replace(signed.order, history=(
                    *before, replace(signature, attestation=command.attestation))))
            self._refuse_second_series(conn, current.order.patient_id, except_order_id=current.order.order_id)
            return signed

        return self._change(command.order_id, sign)

    def hold_order(self, command: ChangeOrder) -> OrderWithSeries:
        return self._change(command.order_id, lambda _conn, current, now: lifecycle.hold_order(
            current, command.by, command.reason or "", now=now))

    def resume_order(self, command: ChangeOrder) -> OrderWithSeries:
        """on-hold → active; refused, like a signature, while the patient's eligibility does not allow an order
        (e.g. the intake was reopened and has not decided again)."""
        def resume(conn: Connection, current: OrderWithSeries, now: datetime) -> OrderWithSeries:
            refusals = eligibility_violations(self._repo.eligibility(conn, current.order.patient_id),
                                              current.order.patient_id)
            if refusals:
                raise EligibilityRefusedError.from_violations(refusals)
            return lifecycle.resume_order(current, command.by, now=now, reason=command.reason)

        return self._change(command.order_id, resume)

    def cancel_order(self, command: ChangeOrder) -> OrderWithSeries:
        return self._change(command.order_id, lambda _conn, current, now: lifecycle.cancel_order(
            current, command.by, command.reason or "", now=now))

    # --- HTTP: reads -----------------------------------------------------------------------------------------
    def get_order(self, order_id: str) -> OrderWithSeries:
        with self._runtime.engine.connect() as conn:
            return self._repo.get_order(conn, order_id).current

    def patient_orders(self, patient_id: str) -> list[OrderWithSeries]:
        with self._runtime.engine.connect() as conn:
            return self._repo.orders_for_patient(conn, patient_id)

    def patient_eligibility(self, patient_id: str) -> EligibilityDecision | None:
        with self._runtime.engine.connect() as conn:
            return self._repo.eligibility(conn, patient_id)

    # --- Kafka -----------------------------------------------------------------------------------------------
    def on_eligibility_decided(self, message: Message, conn: Connection) -> None:
        """Keep the patient's latest intake decision; a malformed message is dead-lettered with the reason."""
        try:
            decision = eligibility_from_resources(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"intake-eligibility-decided cannot be read: {error}") from None
        kept = self._repo.save_eligibility(conn, decision)
        log.info("eligibility received", extra={"message_id": message.message_id, "patient_id": decision.patient_id,
                                                "outcome": decision.status.value, "kept": kept})

    def on_intake_reopened(self, message: Message, conn: Connection) -> None:
        """``intake-reopened``: the intake's decision is withdrawn, so no order is created, signed or resumed for
        the patient until the intake decides again; an active order of the patient is put on hold (published as
        ``order-changed``, so documentation will not start its infusions). A withdrawal of a decision orders no
        longer holds (another intake's, or one decided again since) changes nothing."""
        assessments = [r for r in message.resources if r.get("resourceType") == "RiskAssessment"]
        try:
            if len(assessments) != 1:
                raise FhirMappingError("Bundle.entry", f"expected one RiskAssessment, found {len(assessments)}")
            withdrawal = withdrawal_from_risk_assessment(assessments[0])
        except FieldInputError as error:
            raise PermanentError(f"intake-reopened cannot be read: {error}") from None
        changed = withdrawn(self._repo.eligibility(conn, withdrawal.patient_id), withdrawal.intake_id,
                            withdrawal.withdrawn_at)
        details = {"message_id": message.message_id, "patient_id": withdrawal.patient_id}
        if changed is None:
            log.info("intake reopened: no decision of it is held, nothing withdrawn", extra=details)
            return
        self._repo.save_eligibility(conn, changed)
        running = self._repo.signed_order(conn, withdrawal.patient_id)
        held = None
        if running is not None and running.order.status is OrderStatus.ACTIVE:
            now = max(self._now(), running.order.history[-1].changed_at)
            loaded = self._repo.get_order(conn, running.order.order_id)
            held = lifecycle.hold_order(loaded.current, SYSTEM_ACTOR, INTAKE_REOPENED_HOLD_REASON, now=now)
            self._repo.save_order(conn, loaded, held)
            self._publish_order_event(conn, held)
        log.info("eligibility withdrawn: intake reopened", extra={
            **details, "held_order_id": held.order.order_id if held else None})

    def on_cpoe_order_placed(self, message: Message, conn: Connection) -> None:
        """Check an EHR CPOE ketamine order against the protocol, the patient's eligibility and the EHR's latest
        weight; answer ``ok`` (and publish the new series' order-signed message) or ``fatal-error`` with every
        reason. The same EHR request accepted before is answered again without a second order."""
        request = message.first("MedicationRequest")
        if request is None:
            raise PermanentError("cpoe-order-placed carries no MedicationRequest")
        patient_key = reference_id(request.get("subject"), "Patient") or "unknown"
        try:
            prescribed = prescribed_infusion(request)
        except FieldInputError as error:
            self._answer(conn, patient_key, cpoe_unreadable_response(message, error, self._source))
            self._log_cpoe(message, ResponseCode.FATAL_ERROR)
            return
        accepted_before = (self._repo.cpoe_order_id(conn, prescribed.ehr_request_id)
                           if prescribed.ehr_request_id else None)
        if accepted_before is not None:
            current = self._repo.get_order(conn, accepted_before).current
            decision = CpoeDecision(True, (), prescribed.ehr_request_id, current)
            self._answer(conn, patient_key, cpoe_response_message(message, decision, self._source))
            self._log_cpoe(message, ResponseCode.OK, current.order.order_id, repeated=True)
            return
        decision = self._check_cpoe(conn, prescribed)
        self._answer(conn, patient_key, cpoe_response_message(message, decision, self._source))
        if decision.accepted and decision.result is not None:
            self._repo.add_order(conn, decision.result)
            if prescribed.ehr_request_id:
                self._repo.remember_cpoe(conn, prescribed.ehr_request_id, decision.result)
            self._publish_order_event(conn, decision.result)
        self._log_cpoe(message, ResponseCode.OK if decision.accepted else ResponseCode.FATAL_ERROR,
                       decision.result.order.order_id if decision.result else None)

    def on_session_completed(self, message: Message, conn: Connection) -> None:
        """Documentation's ``session-completed``: the series' infusion of the session is marked completed (cancelled
        when the session never began), and the order completed once no infusion is left; published as
        ``order-changed`` so the EHR's series CarePlan, the documentation service and the course (an order
        listener: an induction series ended starts its response check) see it. A given infusion moves the next
        window on (``min_days_between_infusions``); one that never began is made up at the end of an induction
        series where the clinic allows. A series that cannot take it (not active, an earlier infusion still open,
        marked already by a re-sent message) keeps its state. Bootstrap runs the course's handler first, so the
        course records the infusion before its series can end."""
        try:
            session = session_outcome(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"session-completed cannot be read: {error}") from None
        marked = self._marked_series(conn, session)
        if marked is not None:
            self._publish_order_event(conn, marked, infusion_recorded=marked.order.status is OrderStatus.ACTIVE)

    def _marked_series(self, conn: Connection, session: SessionOutcome) -> OrderWithSeries | None:
        """The order with the session's series infusion marked (saved), None when nothing was marked."""
        order_id = session.order_id
        if order_id is None:
            return None  # stopped without an administration record yet: documentation sends it again with it
        try:
            loaded = self._repo.get_order(conn, order_id)
        except OrderNotFoundError:
            return None
        number = session.infusion_number(order_id)
        series = loaded.current.series
        if number is None or not 1 <= number <= series.infusion_count or \
                series.infusions[number - 1].status is not InfusionStatus.SCHEDULED:
            return None
        outcome, given_on = InfusionStatus.CANCELLED, None
        if session.infusion is not None:
            outcome, given_on = InfusionStatus.COMPLETED, self.settings.clinic_date(session.infusion.given_at)
        try:
            marked = replace(loaded.current, series=record_infusion(series, number, outcome, given_on,
                                                                    self.settings))
            if marked.series.next_scheduled is None and marked.order.status is OrderStatus.ACTIVE:
                marked = lifecycle.complete_order(marked, SESSION_MARKED_BY,
                                                  now=max(self._now(), marked.order.history[-1].changed_at),
                                                  reason="every infusion of the series is given or cancelled")
        except FieldInputError as error:
            log.warning("series infusion not marked", extra={"order_id": order_id, "infusion": number,
                                                             "reason": str(error)})
            return None
        self._repo.save_order(conn, loaded, marked)
        return marked

    def on_ehr_response(self, message: Message, conn: Connection) -> None:
        """The EHR's answer to one of our order messages: a refusal needs a person, so it is logged as a warning."""
        level = logging.WARNING if message.response_code is ResponseCode.FATAL_ERROR else logging.INFO
        log.log(level, "EHR answered an order message", extra={
            "message_id": message.response_to, "event_code": message.event_code,
            "response": None if message.response_code is None else message.response_code.value})

    # --- internals -------------------------------------------------------------------------------------------
    @property
    def _source(self) -> str:
        return self._runtime.source_endpoint

    def _now(self) -> datetime:
        return current_moment(self._clock() if self._clock else None)

    def _settings_for(self, weight_basis: WeightBasis | None) -> ProtocolSettings:
        """The clinic's settings with the weight basis asked for (ideal / adjusted are offered per order)."""
        if weight_basis is None or weight_basis is self.settings.weight_basis:
            return self.settings
        return replace(self.settings, weight_basis=weight_basis)

    def _facts(self, patient_id: str, settings: ProtocolSettings) -> PatientFacts:
        return read_patient_facts(self._runtime.ehr, patient_id, settings.weight_basis)

    def _change(self, order_id: str, step: OrderStep) -> OrderWithSeries:
        """Load, apply one lifecycle step, save with optimistic locking and publish its event, in one transaction."""
        with self._runtime.transaction() as conn:
            loaded = self._repo.get_order(conn, order_id)
            changed = step(conn, loaded.current, self._now())
            self._repo.save_order(conn, loaded, changed)
            self._publish_order_event(conn, changed)
        last = changed.order.history[-1]
        log.info("order changed", extra={"order_id": order_id, "status": last.to_status.value})
        return changed

    def _publish_order_event(self, conn: Connection, current: OrderWithSeries, infusion_recorded: bool = False
                             ) -> None:
        """The one way an order event leaves: its message enqueued in the transaction, then the order listeners
        told (the course). ``infusion_recorded``: a series infusion marked while the order stays active, published
        as ``order-changed`` though the order's status did not change."""
        message = (infusion_recorded_message(current, self.settings, self._source, SESSION_MARKED_BY)
                   if infusion_recorded else order_event_message(current, self.settings, self._source))
        if message is not None:
            self._runtime.publish(conn, ORDERS_EVENTS, current.order.patient_id, message)
            event_code = message["entry"][0]["resource"]["eventCoding"]["code"]
            for listener in self._order_listeners:
                listener(conn, current, event_code)

    def _answer(self, conn: Connection, patient_key: str, response: dict[str, Any]) -> None:
        self._runtime.publish(conn, ORDERS_EVENTS, patient_key, response)

    def _refuse_second_series(self, conn: Connection, patient_id: str, except_order_id: str | None = None) -> None:
        running = self._repo.signed_order(conn, patient_id, except_order_id)
        if running is not None:
            raise ActiveSeriesError.for_order(running.order.order_id, running.series.series_id,
                                              running.order.status.value)

    def _check_cpoe(self, conn: Connection, prescribed: PrescribedInfusion) -> CpoeDecision:
        """``check_cpoe_order`` with the EHR's facts, plus the reasons only the service can know: an unknown
        patient, EHR data that cannot be read, a series already running."""
        patient_id = prescribed.patient_id
        try:
            facts = self._facts(patient_id, self.settings)
        except UnknownPatientError as error:
            return CpoeDecision(False, (error.violation(),), prescribed.ehr_request_id, None)
        except FhirUnavailable as error:
            raise TransientError(f"EHR unavailable while checking a CPOE order: {error}") from None
        except FhirError as error:
            raise TransientError(f"EHR read failed while checking a CPOE order: HTTP {error.status}") from None
        except FieldInputError as error:  # the EHR's weight or height cannot be used
            return CpoeDecision(False, error.violations, prescribed.ehr_request_id, None)
        eligibility = self._repo.eligibility(conn, patient_id)
        decision = check_cpoe_order(prescribed, eligibility, facts.weight, facts.height, facts.sex, self.settings,
                                    now=self._now())
        running = self._repo.signed_order(conn, patient_id)
        if running is None:
            return decision
        conflict = ActiveSeriesError.for_order(running.order.order_id, running.series.series_id,
                                               running.order.status.value)
        return CpoeDecision(False, decision.reasons + conflict.violations, prescribed.ehr_request_id, None)

    def _log_cpoe(self, message: Message, code: ResponseCode, order_id: str | None = None,
                  repeated: bool = False) -> None:
        log.info("CPOE order answered", extra={"message_id": message.message_id, "response": code.value,
                                               "order_id": order_id, "repeated": repeated})


def _override(request: OverrideRequest | None, now: datetime) -> DoseOverride | None:
    return None if request is None else DoseOverride(request.reason, request.authorised_by, now)


def _attempt(make: Callable[[], T]) -> tuple[T | None, list[Violation]]:
    """(result, []) or (None, the violations it raised): lets create report every problem in one answer."""
    try:
        return make(), []
    except FieldInputError as error:
        return None, list(error.violations)


def _raise_all(refusals: list[Violation], problems: list[Violation]) -> None:
    """Eligibility refusals and a stale weight are business-rule refusals (422); the rest is bad input (400)."""
    violations = refusals + problems
    if not violations:
        return
    if refusals:
        raise EligibilityRefusedError.from_violations(violations)
    if any(v.field == "weight" or v.field.startswith("weight.") for v in problems):
        raise StaleWeightError.from_violations(violations)
    raise OrdersInputError.from_violations(violations)
