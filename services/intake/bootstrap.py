"""Wiring of the intake service: clinic settings, EHR reader, service layer, Flask app and event handlers.

Called by ``__main__`` (web + worker), ``wsgi`` (gunicorn) and ``worker``; nothing is built at import time.
"""
from __future__ import annotations

import sys

from flask import Flask

from services.intake.api import create_app
from services.intake.domain.settings import IntakeSettings
from services.intake.ehr_reads import EhrReader
from services.intake.handlers import IntakeService
from services.intake.ui import create_ui
from shared.config import SettingsError, load_settings
from shared.events.consumer import Handlers
from shared.runtime import ServiceRuntime
from shared.smart import install_smart
from shared.ui import install_ui


def build(runtime: ServiceRuntime) -> tuple[Flask, Handlers, Handlers]:
    service = IntakeService(runtime, clinic_settings(), EhrReader(runtime.ehr))
    app = create_app(service, runtime.engine, {"database": runtime.check_database})
    app.register_blueprint(create_ui(service))
    install_ui(app, "Intake")
    install_smart(app, runtime)
    return app, service.handlers(), service.response_handlers()


def clinic_settings() -> IntakeSettings:
    """``INTAKE_*`` settings; a bad value stops the process at start with a message naming the variable."""
    try:
        return load_settings(IntakeSettings, "INTAKE_")
    except SettingsError as error:
        sys.exit(f"intake: configuration error: {error}")
