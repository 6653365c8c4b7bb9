"""The orders service layer, used alike by HTTP requests, the pages and Kafka messages: commands in
(``commands.py``), domain objects out (``OrderWithSeries``, ``DoseCalculation``, ``EligibilityDecision``), which
``presenters.py`` turns into JSON and pages. Domain errors pass through for the caller to answer (4xx, or a
response message).

One class, written by topic: ``orders`` (the commands of the API and the pages), ``ehr_status`` (what the EHR did
with the messages) and ``events`` (the Kafka handlers, ``on_<event>``) on ``core`` (state, reads, and the one way
an order changes and its event is published)."""
from __future__ import annotations

from services.orders.handlers.core import ActiveSeriesError, Clock, OrderListener
from services.orders.handlers.ehr_status import EhrStatusQueries
from services.orders.handlers.events import EventHandlers
from services.orders.handlers.orders import OrderCommands

__all__ = ["ActiveSeriesError", "Clock", "OrderListener", "OrdersService"]


class OrdersService(OrderCommands, EhrStatusQueries, EventHandlers):
    """The orders service layer (``bootstrap`` builds one per process)."""
