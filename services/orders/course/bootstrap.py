"""The course's wiring, called by the orders service's ``bootstrap.build`` (the course runs inside orders): its
service layer (settings ``ORDERS_COURSE_*``, checked at start-up against the order protocol), installed on the app
with its error answers. The Kafka handler tables are the orders bootstrap's (one per process, every event code the
course takes and publishes written out there), composed with ``in_turn`` where orders and the course both act on a
message."""
from __future__ import annotations

import os
import sys

from flask import Flask
from sqlalchemy.engine import Connection

from services.orders.course.access import COURSE_SERVICE, install_export_access, install_patient_link_access
from services.orders.course.api import install_course_errors
from services.orders.course.domain.patient_instruments import load_clinic_instruments
from services.orders.course.domain.patient_reports import PatientReportSettings
from services.orders.course.domain.settings import CourseSettings, refuse_renamed
from services.orders.course.handlers import CourseService, CourseServiceSettings
from services.orders.domain.settings import ProtocolSettings
from shared.config import SettingsError, load_settings
from shared.events.consumer import Handler
from shared.fhir.messaging import Message
from shared.runtime import ServiceRuntime
from shared.web import install_service

SETTINGS_PREFIX = "ORDERS_COURSE_"
PRO_SETTINGS_PREFIX = "ORDERS_COURSE_PRO_"  # patient-reported outcomes (domain/patient_reports.py)


def build_course_service(runtime: ServiceRuntime, protocol: ProtocolSettings) -> CourseService:
    """A bad ``ORDERS_COURSE_*`` value stops the process with a message naming it."""
    try:
        refuse_renamed(os.environ, SETTINGS_PREFIX)
        settings = load_settings(CourseSettings, SETTINGS_PREFIX)
        settings.validate_with(protocol)
        service_settings = load_settings(CourseServiceSettings, SETTINGS_PREFIX)
        pro_settings = load_settings(PatientReportSettings, PRO_SETTINGS_PREFIX)  # validated as it loads
        # the clinic's own questionnaire wording (QIDS-SR16), when a file is set: a bad file stops the start
        clinic_instruments = load_clinic_instruments(pro_settings.clinic_questionnaire_files)
    except (SettingsError, ValueError) as error:
        sys.exit(f"orders: configuration error: {error}")
    return CourseService(runtime, settings, protocol, service_settings, pro_settings=pro_settings,
                         clinic_instruments=clinic_instruments)


def install_course(app: Flask, course: CourseService) -> None:
    """The course's service layer on the app for its views (``access.course_service``), who may take the outcomes
    export (``ORDERS_COURSE_EXPORT_*``) and make patient links (``ORDERS_COURSE_PATIENT_LINK_*``), both checked
    now, and its error answers."""
    install_service(app, COURSE_SERVICE, course)
    install_export_access(app)
    install_patient_link_access(app)  # who may make a patient's questionnaire link (ORDERS_COURSE_PATIENT_LINK_*)
    install_course_errors(app)


def in_turn(*handlers: Handler) -> Handler:
    """One message, several handlers, one transaction (e.g. the eligibility decision and the course's baseline)."""

    def handle(message: Message, conn: Connection) -> None:
        for handler in handlers:
            handler(message, conn)

    return handle
