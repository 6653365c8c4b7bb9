"""The orders app's pages, for the clinician who opened it from the patient's chart, one module per screen on one
blueprint (``page.blueprint``, registered by ``bootstrap``):

- ``home``: ``GET /``, the patient in context: banner (with the eligibility orders holds), eligibility, series and
  orders.
- ``order_entry``: ``GET /ui/orders/new`` (order entry with the dose calculation, recalculated live), ``POST
  /ui/orders/preview`` (the same without script) and ``POST /ui/orders`` (create the draft).
- ``order_review``: ``GET /ui/orders/<id>`` (review: calculation, series, history) and ``POST
  /ui/orders/<id>/<action>`` (sign, hold, resume, cancel with a reason).
- ``not_in_ehr``: ``GET /ui/not-in-ehr``, the service's part of the clinic's "not in the EHR" list.

Views call the service layer (``OrdersService``, through ``access.orders_service``) as the API does, for the patient
in the SMART context only. Domain errors are shown next to their field (``forms``); every form POST passes the UI
kit's CSRF guard (``shared.ui.forms``)."""
from __future__ import annotations

from services.orders.ui import home, not_in_ehr, order_entry, order_review  # noqa: F401 - each registers its views
from services.orders.ui.pages import blueprint

__all__ = ["blueprint"]
