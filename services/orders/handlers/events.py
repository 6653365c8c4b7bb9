"""The orders service's Kafka handlers. Each runs inside the consumer's transaction (``conn``), which also records
the message id, so a redelivered message changes nothing; a message that cannot be read is dead-lettered with the
reason. The consumer routes response messages (the EHR's answers, which carry the event code of the message
answered) to ``on_ehr_response`` only, so the event handlers never see one."""
from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.engine import Connection

from shared.people import ketalink
from shared.ehr_delivery import record_response
from shared.errors import FhirMappingError, FieldInputError
from shared.events.consumer import PermanentError, TransientError
from shared.fhir.client import FhirError, FhirUnavailable
from shared.fhir.datatypes import reference_id
from shared.fhir.infusion_session import InfusionSessionEnd, infusion_session_end
from shared.fhir.messaging import Message, ResponseCode
from services.orders.domain import lifecycle
from services.orders.domain.cpoe import CpoeDecision, check_cpoe_order
from services.orders.domain.eligibility import withdrawn
from services.orders.domain.order import OrderStatus, OrderWithSeries
from services.orders.domain.prescribed import PrescribedInfusion
from services.orders.domain.series import InfusionStatus, record_infusion
from services.orders.ehr_reads import UnknownPatientError
from services.orders.handlers.core import SESSION_MARKED_BY, ActiveSeriesError, OrdersCore
from services.orders.messages import cpoe_response_message, cpoe_unreadable_response
from services.orders.repository import OrderNotFoundError
from services.orders.translators.eligibility_in import eligibility_from_resources
from services.orders.translators.medication_request_in import prescribed_infusion
from services.orders.translators.risk_assessment_in import withdrawal_from_risk_assessment

log = logging.getLogger(__package__)  # one logger for the service layer: services.orders.handlers

SYSTEM_ACTOR = ketalink("Ketalink orders service")  # who a change the service makes on an event is recorded as
INTAKE_REOPENED_HOLD_REASON = ("eligibility withdrawn: the intake was reopened; resume only after a new eligibility "
                               "decision")


class EventHandlers(OrdersCore):
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
            prescribed = prescribed_infusion(request, checked_in_message=True)  # parse_message validated it
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
            session = infusion_session_end(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"session-completed cannot be read: {error}") from None
        marked = self._marked_series(conn, session)
        if marked is not None:
            self._publish_order_event(conn, marked, infusion_recorded=marked.order.status is OrderStatus.ACTIVE)

    def _marked_series(self, conn: Connection, session: InfusionSessionEnd) -> OrderWithSeries | None:
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
        """The EHR's answer to one of our messages, kept with its order (``shared/ehr_delivery``): a refusal needs a
        person, so it is an alert on the order's page and a row of the "not in the EHR" list, and a warning here."""
        delivery = record_response(conn, message)
        level = logging.INFO if message.response_code is ResponseCode.OK else logging.WARNING
        log.log(level, "EHR answered an order message", extra={
            "message_id": message.response_to, "event_code": message.event_code,
            "record_id": delivery.record_id if delivery else None,
            "response": None if message.response_code is None else message.response_code.value})
