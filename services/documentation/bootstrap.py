"""Wiring the documentation service: clinic settings, the service layer, the Flask app with its API and the Kafka
handlers. ``build(runtime)`` is called by ``__main__`` (web and worker), ``wsgi`` (web) and ``worker``."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from services.documentation.api import create_api, install_error_mapping
from services.documentation.clock import ClinicalClock
from services.documentation.domain.settings import SessionSettings
from services.documentation.ehr_weights import EhrWeights
from services.documentation.handlers import DocumentationService
from services.documentation.translators import message_out
from shared.config import SettingsError, load_settings
from shared.events.consumer import ANY_EVENT, Handler
from shared.runtime import ServiceRuntime
from shared.web import install

SETTINGS_PREFIX = "DOCUMENTATION_"
ORDER_EVENTS = ("order-signed", "order-changed", "order-cancelled")


@dataclass(frozen=True)
class ApiSettings:
    """``DOCUMENTATION_FUTURE_TIME_TOLERANCE_S``: how far ahead of the server's clock a clinical time may be (the
    tablet's clock drifts); anything later is refused as a time in the future."""

    future_time_tolerance_s: int = 120

    def validate(self) -> None:
        if not 0 <= self.future_time_tolerance_s <= 3600:
            raise ValueError("future_time_tolerance_s must be 0-3600")


def build(runtime: ServiceRuntime) -> tuple[Flask, dict[str, Handler]]:
    try:
        settings = load_settings(SessionSettings, SETTINGS_PREFIX)
        api_settings = load_settings(ApiSettings, SETTINGS_PREFIX)
    except SettingsError as error:
        sys.exit(f"{runtime.name}: configuration error: {error}")
    clock = ClinicalClock(timedelta(seconds=api_settings.future_time_tolerance_s))
    service = DocumentationService(runtime, settings, clock, EhrWeights(runtime.ehr))
    app = Flask(__name__)
    install(app, {"database": runtime.check_database})
    install_error_mapping(app)
    create_api(service, runtime.engine).install(app)
    return app, message_handlers(service)


def message_handlers(service: DocumentationService) -> dict[str, Handler]:
    """Order events → sessions; vitals from the EHR → the flowsheet; anything else (EHR responses included) is
    looked at by ``on_other_message``."""
    handlers: dict[str, Handler] = {code: service.on_order_event for code in ORDER_EVENTS}
    handlers[message_out.VITALS_RECORDED] = service.on_ehr_vitals
    handlers[ANY_EVENT] = service.on_other_message
    return handlers
