"""The orders service's records in the shared versioned document store: one ``order`` record per order (the order
and its series together, so they never disagree), the latest ``eligibility`` decision per patient, and one
``cpoe-order`` record per accepted EHR CPOE request (so the same request never creates a second order)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from shared.db import RecordStore, StoredRecord
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.domain.order import OrderStatus, OrderWithSeries

ORDER = "order"
ELIGIBILITY = "eligibility"
CPOE_ORDER = "cpoe-order"

SIGNED_STATUSES = (OrderStatus.ACTIVE, OrderStatus.ON_HOLD)  # a series that is running or only paused


class OrderNotFoundError(LookupError):
    def __init__(self, order_id: str):
        self.order_id = order_id
        super().__init__(f"order {order_id} not found")


@dataclass(frozen=True)
class LoadedOrder:
    """An order with the stored version it was read at (optimistic locking on write)."""

    stored: StoredRecord
    current: OrderWithSeries


class OrdersRepository:
    def __init__(self, store: RecordStore | None = None):
        self._store = store or RecordStore()

    # --- orders ----------------------------------------------------------------------------------------------
    def get_order(self, conn: Connection, order_id: str) -> LoadedOrder:
        stored = self._store.find(conn, ORDER, order_id)
        if stored is None:
            raise OrderNotFoundError(order_id)
        return LoadedOrder(stored, OrderWithSeries.from_dict(stored.body))

    def add_order(self, conn: Connection, current: OrderWithSeries) -> None:
        self._store.insert(conn, ORDER, current.order.order_id, current.order.patient_id, current.to_dict())

    def save_order(self, conn: Connection, loaded: LoadedOrder, changed: OrderWithSeries) -> None:
        """Raises StaleRecordError when another request changed the order since it was read."""
        self._store.update(conn, loaded.stored, changed.to_dict())

    def orders_for_patient(self, conn: Connection, patient_id: str) -> list[OrderWithSeries]:
        """Oldest first."""
        return [OrderWithSeries.from_dict(r.body) for r in self._store.list_for_patient(conn, ORDER, patient_id)]

    def signed_order(self, conn: Connection, patient_id: str, except_order_id: str | None = None
                     ) -> OrderWithSeries | None:
        """The patient's order whose series is active or on hold, if any (other than ``except_order_id``)."""
        return next((o for o in self.orders_for_patient(conn, patient_id)
                     if o.order.status in SIGNED_STATUSES and o.order.order_id != except_order_id), None)

    # --- eligibility -----------------------------------------------------------------------------------------
    def eligibility(self, conn: Connection, patient_id: str) -> EligibilityDecision | None:
        stored = self._store.find(conn, ELIGIBILITY, patient_id)
        return None if stored is None else EligibilityDecision.from_dict(stored.body)

    def save_eligibility(self, conn: Connection, decision: EligibilityDecision) -> bool:
        """Keep the latest decision per patient; an older one arriving late changes nothing (returns False)."""
        stored = self._store.find(conn, ELIGIBILITY, decision.patient_id)
        if stored is None:
            self._store.insert(conn, ELIGIBILITY, decision.patient_id, decision.patient_id, decision.to_dict())
            return True
        if EligibilityDecision.from_dict(stored.body).decided_at > decision.decided_at:
            return False
        self._store.update(conn, stored, decision.to_dict())
        return True

    # --- CPOE requests ---------------------------------------------------------------------------------------
    def cpoe_order_id(self, conn: Connection, ehr_request_id: str) -> str | None:
        stored = self._store.find(conn, CPOE_ORDER, ehr_request_id)
        return None if stored is None else stored.body["order_id"]

    def remember_cpoe(self, conn: Connection, ehr_request_id: str, current: OrderWithSeries) -> None:
        self._store.insert(conn, CPOE_ORDER, ehr_request_id, current.order.patient_id,
                           {"order_id": current.order.order_id, "ehr_request_id": ehr_request_id})
