"""The base of the orders service layer: its state, the reads, and the steps every command and event handler shares
(load → lifecycle step → save with optimistic locking → publish, in one transaction; the one way an order event
is published, which also tells the order listeners)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from shared.ehr_delivery import track
from shared.fhir.client import FhirClient
from shared.people import ketalink
from shared.events.topics import ORDERS_EVENTS
from shared.runtime import ServiceRuntime
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.domain.errors import OrdersInputError
from services.orders.domain.order import OrderWithSeries, running_series_violation
from services.orders.domain.settings import ProtocolSettings, WeightBasis
from services.orders.domain.timestamps import current_moment
from services.orders.ehr_reads import PatientFacts, read_patient_facts
from services.orders.messages import infusion_recorded_message, order_event_message
from services.orders.repository import ORDER, OrdersRepository

log = logging.getLogger(__package__)  # one logger for the service layer: services.orders.handlers

# Who a series infusion marked from documentation's session (and the order completed with it) is recorded as: the
# same author as the course's own steps, as the EHR has always seen it.
SESSION_MARKED_BY = ketalink("Ketalink orders service")  # who marks a series infusion given

Clock = Callable[[], datetime]
OrderStep = Callable[[Connection, OrderWithSeries, datetime], OrderWithSeries]
# Told of every order event inside its transaction (after it is enqueued), e.g. the treatment course starts when an
# induction order is signed, in the same transaction as the sign.
OrderListener = Callable[[Connection, OrderWithSeries, str], None]


class ActiveSeriesError(OrdersInputError):
    """The patient already has a signed series (active or on hold): a second one would double the treatment."""

    @classmethod
    def for_order(cls, order_id: str, series_id: str, status: str) -> ActiveSeriesError:
        return cls.from_violations([running_series_violation(order_id, series_id, status)])


class OrdersCore:
    def __init__(self, runtime: ServiceRuntime, settings: ProtocolSettings,
                 repository: OrdersRepository | None = None, clock: Clock | None = None,
                 order_listeners: tuple[OrderListener, ...] = ()):
        self._runtime = runtime
        self.settings = settings
        self._repo = repository or OrdersRepository()
        self._clock = clock
        self._order_listeners = order_listeners

    # --- reads -----------------------------------------------------------------------------------------------
    @property
    def ehr(self) -> FhirClient:
        """The service's own EHR client (who a backend client acts for is checked with it)."""
        return self._runtime.ehr

    def get_order(self, order_id: str) -> OrderWithSeries:
        with self._runtime.engine.connect() as conn:
            return self._repo.get_order(conn, order_id).current

    def reading(self) -> AbstractContextManager[Connection]:
        """One connection for several reads that are asked together (one pool checkout, one transaction, rolled
        back at the end). Each statement still sees what is committed when it runs, as with a connection each."""
        return self._runtime.engine.connect()

    def patient_orders(self, patient_id: str, conn: Connection | None = None) -> list[OrderWithSeries]:
        """``conn``: a connection from ``reading`` to read on; without one, a connection of its own."""
        with self._read_on(conn) as reading:
            return self._repo.orders_for_patient(reading, patient_id)

    def patient_eligibility(self, patient_id: str, conn: Connection | None = None) -> EligibilityDecision | None:
        """``conn``: as for ``patient_orders``."""
        with self._read_on(conn) as reading:
            return self._repo.eligibility(reading, patient_id)

    def _read_on(self, conn: Connection | None) -> AbstractContextManager[Connection]:
        return nullcontext(conn) if conn is not None else self.reading()

    # --- shared steps ----------------------------------------------------------------------------------------
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
            message_id = self._runtime.publish(conn, ORDERS_EVENTS, current.order.patient_id, message)
            event_code = message["entry"][0]["resource"]["eventCoding"]["code"]
            track(conn, message_id, event_code, ORDER, current.order.order_id, current.order.patient_id)
            for listener in self._order_listeners:
                listener(conn, current, event_code)

    def _answer(self, conn: Connection, patient_key: str, response: dict[str, Any]) -> None:
        self._runtime.publish(conn, ORDERS_EVENTS, patient_key, response)

    def _refuse_second_series(self, conn: Connection, patient_id: str, except_order_id: str | None = None) -> None:
        running = self._repo.signed_order(conn, patient_id, except_order_id)
        if running is not None:
            raise ActiveSeriesError.for_order(running.order.order_id, running.series.series_id,
                                              running.order.status.value)
