"""SMART access to orders, shared by the API and the clinician pages: which EHR patient an order belongs to (the
patient source of ``@requires`` for the operations on one order), and the service layer the views act through
(``bootstrap`` installs it on the app under ``ORDERS_SERVICE``)."""
from __future__ import annotations

from typing import Any

from shared.web import app_service
from services.orders.handlers import OrdersService
from services.orders.repository import OrderNotFoundError

ORDERS_SERVICE = "ketalink.orders"  # app.extensions key of the OrdersService


def orders_service() -> OrdersService:
    """The current app's orders service layer."""
    return app_service(ORDERS_SERVICE, OrdersService)


def order_patient(view_args: dict[str, Any]) -> str | None:
    """The patient of the order in the URL; None for an unknown order (the view then answers 404, and a
    patient-scoped token is refused first because the request names no patient)."""
    try:
        return orders_service().get_order(view_args["order_id"]).order.patient_id
    except OrderNotFoundError:
        return None
