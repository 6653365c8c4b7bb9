"""What the EHR did with the orders service's messages (``shared/ehr_delivery``): each order's status for its page
and JSON, and the service's part of the clinic's "not in the EHR" list (the treatment course's messages too, once
tracked). The answers themselves are kept by ``events.on_ehr_response``."""
from __future__ import annotations

from services.orders.handlers.core import OrdersCore
from services.orders.repository import ORDER
from shared import ehr_delivery
from shared.db import utcnow
from shared.ehr_delivery import Delivery, EhrStatusSettings, RecordEhrStatus


class EhrStatusQueries(OrdersCore):
    def order_ehr_statuses(self, order_ids: list[str]) -> dict[str, RecordEhrStatus]:
        """Each order's status (None where nothing was sent: a draft)."""
        with self._runtime.engine.connect() as conn:
            return ehr_delivery.statuses_of(conn, ORDER, order_ids)

    def order_ehr_status(self, order_id: str) -> RecordEhrStatus:
        return self.order_ehr_statuses([order_id])[order_id]

    def not_in_ehr(self, settings: EhrStatusSettings) -> list[Delivery]:
        """The messages the EHR refused, is retrying or has not answered for longer than the setting."""
        with self._runtime.engine.connect() as conn:
            return ehr_delivery.outstanding(conn, settings, utcnow())
