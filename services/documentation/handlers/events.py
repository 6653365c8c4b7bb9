"""The Kafka handlers: order events schedule, move and cancel sessions; vitals from the EHR or a device go to the
flowsheet; the course's suicidality alerts are kept for the pre-infusion check; the EHR's responses are kept with
the session or note they answer.

Each runs inside the consumer's transaction, which also records the message id, so a redelivered message changes
nothing; a message that can never be applied is a ``PermanentError`` (dead letter with the reason), a conflict with
a clinician's change meanwhile a ``TransientError`` (read again and retry)."""
from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationError
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus
from services.documentation.domain.session import SessionStatus
from services.documentation.handlers.core import ServiceCore
from services.documentation.translators.detected_issue_suicidality_in import alert_from_detected_issue
from services.documentation.translators.observation_vitals_in import vitals_from_observations
from services.documentation.translators.order_in import active_order_from_focus
from shared.db import StaleRecordError
from shared.ehr_delivery import EhrStatus, record_response
from shared.errors import FieldInputError
from shared.events.consumer import PermanentError, TransientError
from shared.events.event_codes import EHR_VITALS_RECORDED
from shared.fhir.messaging import Message
from shared.people import ketalink

log = logging.getLogger(__name__)

ORDERS_SERVICE = ketalink("Ketalink orders service")  # who a change made by an order event is recorded as
_ORDER_ENDED = (OrderStatus.CANCELLED, OrderStatus.COMPLETED)
_RECEIVES_EHR_VITALS = (SessionStatus.INFUSING, SessionStatus.RECOVERING)


class KafkaHandlers(ServiceCore):
    # --- Kafka: orders ---------------------------------------------------------------------------------------
    def on_order_event(self, message: Message, conn: Connection) -> None:
        """``order-signed`` / ``order-changed`` / ``order-cancelled``: store the order, schedule one session per
        scheduled occurrence, move scheduled sessions to a changed window, cancel those of cancelled infusions."""
        try:
            order = active_order_from_focus(message.resources)
        except FieldInputError as error:
            raise PermanentError(f"{message.event_code}: {error}") from None
        try:
            stored = self._records.find_order(conn, order.order_id)
            if stored is None:
                self._records.add_order(conn, order)
            elif stored.record.patient_id != order.patient_id:
                raise PermanentError(f"order {order.order_id} belongs to another patient than the one stored")
            elif stored.record != order:
                self._records.save(conn, stored, order)
            created, changed = self._schedule_sessions(conn, order)
        except StaleRecordError as error:
            raise TransientError(str(error)) from None  # a clinician changed a session meanwhile: read it again
        except DocumentationError as error:
            raise PermanentError(f"{message.event_code}: {error}") from None
        log.info("order applied", extra={"order_id": order.order_id, "event_code": message.event_code,
                                         "order_status": order.status.value, "sessions_created": created,
                                         "sessions_changed": changed})

    def _schedule_sessions(self, conn: Connection, order: ActiveOrder) -> tuple[int, int]:
        created = changed = 0
        now = self._clock.now()
        for occurrence in order.occurrences:
            session_id = s.session_id_for(order, occurrence.number)
            loaded = self._records.find_session(conn, session_id)
            if loaded is None:
                if occurrence.status is OccurrenceStatus.SCHEDULED and order.status not in _ORDER_ENDED:
                    self._records.add_session(conn, s.create_session(order, occurrence.number))
                    created += 1
                continue
            session = loaded.record
            if session.status is not SessionStatus.SCHEDULED:
                continue  # begun or ended: its history stands; a start is refused while the order is not active
            if order.status in _ORDER_ENDED or occurrence.status is not OccurrenceStatus.SCHEDULED:
                reason = f"order {order.status.value}" if order.status in _ORDER_ENDED else \
                    f"infusion {occurrence.number} {occurrence.status.value} in the order"
                updated = s.cancel(session, reason, ORDERS_SERVICE, now)
            else:
                updated = s.apply_order_update(session, order)
            if updated != session:
                self._records.save(conn, loaded, updated)
                changed += 1
        return created, changed

    # --- Kafka: vitals from the EHR or a device ----------------------------------------------------------------
    def on_ehr_vitals(self, message: Message, conn: Connection) -> None:
        """``vitals-recorded`` on ehr.events: the reading goes to the flowsheet of the patient's session that is
        infusing or recovering; with none, it is not for us (logged, not an error)."""
        try:
            inbound = vitals_from_observations(message.all("Observation"))
        except FieldInputError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        candidates = [loaded for loaded in self._records.sessions_for_patient(conn, inbound.patient_id)
                      if loaded.record.status in _RECEIVES_EHR_VITALS]
        if not candidates:
            log.info("EHR vitals ignored: no infusing or recovering session",
                     extra={"message_id": message.message_id, "patient_id": inbound.patient_id})
            return
        loaded = max(candidates, key=lambda item: item.record.transitions[-1].at)  # the most recent step
        try:  # issue 13 defect 24: a device clock in the future is refused like a clinician's (no clock on Kafka)
            self._clock.check(inbound.reading.measured_at, "Observation.effectiveDateTime")
        except FieldInputError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        # The session as it is now, held to the end of this transaction: a clinician's reading charted at the same
        # moment waits for this one instead of making its write stale (shared/record_writes.py).
        self._records.lock_session(conn, loaded.record.session_id)
        loaded = self._records.session(conn, loaded.record.session_id)
        if loaded.record.status not in _RECEIVES_EHR_VITALS:  # it ended meanwhile: choose again on the next try
            raise TransientError(f"session {loaded.record.session_id} changed while the reading was routed")
        order = self._records.order(conn, loaded.record.order_id).record
        try:
            self._apply(conn, loaded, order, lambda session, _order: s.record_vitals(session, inbound.reading,
                                                                                     self._settings))
        except StaleRecordError as error:
            raise TransientError(str(error)) from None
        except DocumentationError as error:
            raise PermanentError(f"{EHR_VITALS_RECORDED}: {error}") from None
        log.info("EHR vitals charted", extra={"message_id": message.message_id,
                                              "session_id": loaded.record.session_id})

    # --- Kafka: the course's suicidality alerts (issue 13 defect 5) -------------------------------------------------
    def on_suicidality_alert(self, message: Message, conn: Connection) -> None:
        """``suicidality-alert`` / ``suicidality-alert-acknowledged`` on ketalink.orders.events: kept per patient so
        the pre-infusion check sees every open alert. An acknowledgement closes the alert (also one not seen
        before); a redelivered or late "raised" never reopens an acknowledged alert."""
        try:
            alerts = [alert_from_detected_issue(resource) for resource in message.all("DetectedIssue")]
        except ValueError as error:  # a mapping or FHIR validation error: the message cannot be read, ever
            raise PermanentError(f"{message.event_code}: {error}") from None
        if not alerts:
            raise PermanentError(f"{message.event_code}: no DetectedIssue in the message")
        try:
            for alert in alerts:
                stored = self._records.find_suicidality_alert(conn, alert.alert_id)
                if stored is None:
                    self._records.add_suicidality_alert(conn, alert)
                elif stored.record.is_open and not alert.is_open:
                    self._records.save(conn, stored, alert)
        except StaleRecordError as error:
            raise TransientError(str(error)) from None
        log.info("suicidality alert noted", extra={"message_id": message.message_id, "event_code":
                                                   message.event_code, "alerts": len(alerts)})

    # --- Kafka: the EHR's responses ----------------------------------------------------------------------------
    def on_ehr_response(self, message: Message, conn: Connection) -> None:
        """The EHR's answer to one of this service's messages is kept with its session or note (applied, refused
        with the EHR's reasons, or waiting on the EHR's retry: ``shared/ehr_delivery``), for their pages and the
        "not in the EHR" list; answers to other services' messages (``ehr.responses`` is shared) are not ours."""
        delivery = record_response(conn, message)
        if delivery is None:
            return
        outcome = {"message_id": delivery.message_id, "event_code": delivery.event_code,
                   "record_kind": delivery.record_kind, "record_id": delivery.record_id,
                   "ehr_status": delivery.status.value}
        if delivery.status is EhrStatus.APPLIED:
            log.info("EHR applied message", extra=outcome)
        else:
            log.warning("EHR did not apply message", extra=outcome)
