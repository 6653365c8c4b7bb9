"""Wiring of the intake service: clinic settings, the clock, EHR reader, service layer, Flask app and the Kafka
handler tables.

Called by ``__main__`` (web + worker), ``wsgi`` (gunicorn) and ``worker``; nothing is built at import time.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta

from flask import Flask

from services.intake.api import install_api
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.settings import IntakeSettings
from services.intake.ehr_reads import EHR_NEEDS, EhrReader
from services.intake.handlers import SERVICE_KEY, IntakeService
from services.intake.ui import blueprint as ui_blueprint
from shared.clock import ClinicalClock
from shared.config import SettingsError, load_settings
from shared.contraindications import load_contraindication_settings
from shared.events.consumer import Handlers
from shared.events.event_codes import INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED, REFERRAL_REQUESTED
from shared.fhir.capabilities import PAGE_NEEDS, check_in_background
from shared.ops.page import install_ops
from shared.runtime import ServiceRuntime
from shared.smart import install_smart
from shared.ui import install_ui
from shared.web import install, install_service


def build(runtime: ServiceRuntime) -> tuple[Flask, Handlers, Handlers]:
    settings = clinic_settings()
    # The one clinical clock; its allowance for a clock running ahead is the clinic's INTAKE_CLOCK_SKEW_MINUTES,
    # the same the domain checks every recorded time with (domain/plausibility.py).
    clock = ClinicalClock(timedelta(minutes=settings.clock_skew_minutes), error=IntakeInputError)
    service = IntakeService(runtime, settings, EhrReader(runtime.ehr), clock)
    # Warn (never stop) about what the EHR's CapabilityStatement does not list; in a thread, never delaying the start.
    check_in_background(runtime.ehr, (*EHR_NEEDS, *PAGE_NEEDS))
    app = create_app(service, runtime)
    handlers = {
        REFERRAL_REQUESTED: service.on_referral_requested,  # ehr.events: a referral starts an intake
    }
    # ehr.responses: the EHR's answers to our messages, under the event code they answer.
    response_handlers = {
        INTAKE_ELIGIBILITY_DECIDED: service.on_ehr_response,
        INTAKE_REOPENED: service.on_ehr_response,
    }
    return app, handlers, response_handlers


def create_app(service: IntakeService, runtime: ServiceRuntime) -> Flask:
    """The JSON API, the probes and the clinician pages, behind SMART (every request needs the clinician's session
    or a bearer token, except probes and static files)."""
    app = Flask("ketalink-intake")
    install_service(app, SERVICE_KEY, service)
    install_api(app, runtime.engine)
    install(app, {"database": runtime.check_database})
    app.register_blueprint(ui_blueprint)
    install_ui(app, "Intake")
    install_ops(app, runtime)  # /ops: dead letters, held records, outbox backlog (operations staff only)
    install_smart(app, runtime)
    return app


def clinic_settings() -> IntakeSettings:
    """``INTAKE_*`` settings with the clinic's contraindication list (``KETALINK_*_CONTRAINDICATIONS``, the one the
    orders service's cards read: ``shared/contraindications.py``); a bad value stops the process at start with a
    message naming the variable."""
    try:
        clinic = load_contraindication_settings()
        settings = replace(load_settings(IntakeSettings, "INTAKE_"),
                           absolute_contraindications=clinic.absolute_contraindications,
                           relative_contraindications=clinic.relative_contraindications)
        settings.validate()
        return settings
    except (SettingsError, ValueError) as error:
        sys.exit(f"intake: configuration error: {error}")
