"""CDS Hooks 2.0 in the orders service: the ketamine protocol checked in the EHR's order entry (``order-select``,
``order-sign``) before the prescriber signs, with the orders domain's own rules (``cards.py``).

``build_cds_hooks`` is what ``services/orders/bootstrap.py`` calls: settings from ``ORDERS_CDS_*`` (a bad value
stops the process with its name), the EHR's keys, the JWT verifier and the service layer."""
from __future__ import annotations

import sys
from typing import Any

from shared.config import SettingsError, load_settings
from shared.contraindications import load_contraindication_settings
from services.orders.cds_hooks.auth import CdsTokenVerifier
from services.orders.cds_hooks.context import CardSettings
from services.orders.cds_hooks.facts import OpenAlerts
from services.orders.cds_hooks.service import CdsHooksService
from services.orders.cds_hooks.settings import CdsHooksSettings
from services.orders.cds_hooks.store import CdsStore
from services.orders.domain.settings import ProtocolSettings
from services.orders.handlers import OrdersService

SETTINGS_PREFIX = "ORDERS_CDS_"


def build_cds_hooks(runtime: Any, orders: OrdersService, protocol: ProtocolSettings,
                    open_alerts: OpenAlerts) -> CdsHooksService:
    try:
        settings = load_settings(CdsHooksSettings, SETTINGS_PREFIX)
        base = runtime.settings.public_base_url.rstrip("/") or "http://127.0.0.1"
        card_settings = CardSettings(protocol=protocol, app_launch_url=f"{base}/launch",
                                     protocol_url=settings.protocol_url,
                                     contraindications=load_contraindication_settings())
        card_settings.validate()
    except (SettingsError, ValueError) as error:
        sys.exit(f"orders: configuration error: {error}")
    store = CdsStore(runtime.engine, card_retention_s=settings.card_retention_s)
    return CdsHooksService(settings, CdsTokenVerifier(settings), store, orders, open_alerts,
                           card_settings, runtime.settings.ehr_fhir_base_url)
