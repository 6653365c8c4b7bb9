"""Wiring of the orders service: clinic protocol settings (``ORDERS_*``), the service layer, the Flask app and the
Kafka handlers. Nothing happens at import; ``build`` is called by ``__main__``, ``wsgi`` and ``worker``."""
from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import replace

from flask import Flask
from sqlalchemy.engine import Connection

from shared.api import Api
from shared.config import SettingsError, load_settings
from shared.events.consumer import Handlers
from shared.events.event_codes import (
    COURSE_CHANGED,
    CPOE_ORDER_PLACED,
    INTAKE_ELIGIBILITY_DECIDED,
    INTAKE_REOPENED,
    LEGACY_RELAPSE,
    LOSS_OF_RESPONSE,
    ORDER_CANCELLED,
    ORDER_CHANGED,
    ORDER_SIGNED,
    QUESTIONNAIRE_RESPONSE_RECEIVED,
    REEVALUATION_DUE,
    RELAPSE_AFTER_REMISSION,
    REMISSION_REACHED,
    RESPONSE_REACHED,
    SCORE_RECORDED,
    SESSION_COMPLETED,
    SUICIDALITY_ALERT,
    SUICIDALITY_ALERT_ACKNOWLEDGED,
)
from shared.fhir.capabilities import PAGE_NEEDS, check_in_background
from shared.pdf_libraries import check_pdf_libraries
from shared.ops.page import install_ops
from shared.runtime import ServiceRuntime
from shared.smart import install_smart
from shared.ui import install_ui
from shared.web import install, install_service
from services.orders.access import ORDERS_SERVICE
from services.orders.cds_hooks import build_cds_hooks
from services.orders.cds_hooks.facts import OpenAlerts
from services.orders.cds_hooks.views import PUBLIC_ENDPOINTS as CDS_HOOKS_ENDPOINTS, install_cds_hooks
from services.orders.api import DESCRIPTION, OPERATIONS, answer_errors
from services.orders.course.api import OPERATIONS as COURSE_OPERATIONS
from services.orders.course.ui import PATIENT_PAGE_ENDPOINTS, patient_blueprint
from services.orders.course.ui import blueprint as course_pages
from services.orders.course.bootstrap import build_course_service, in_turn, install_course
from services.orders.course.ehr_reads import EHR_NEEDS as COURSE_EHR_NEEDS
from services.orders.course.repository import CourseRepository
from services.orders.domain.settings import ProtocolSettings
from services.orders.ehr_reads import EHR_NEEDS
from services.orders.handlers import OrdersService
from services.orders.ui import blueprint as orders_pages

API_VERSION = "1.0.0"


def build(runtime: ServiceRuntime) -> tuple[Flask, Handlers, Handlers]:
    try:
        check_pdf_libraries()  # the course summary's PDF: a missing pango stops the start, not the first download
    except SettingsError as error:
        sys.exit(f"{runtime.name}: configuration error: {error}")
    protocol = protocol_settings(runtime.clinic_time.zone.key)
    course = build_course_service(runtime, protocol)  # the treatment course starts in the sign's transaction
    service = OrdersService(runtime, protocol, order_listeners=(course.on_order_event,))
    # Warn (never stop) about what the EHR's CapabilityStatement does not list; in a thread, never delaying the start.
    check_in_background(runtime.ehr, (*EHR_NEEDS, *COURSE_EHR_NEEDS, *PAGE_NEEDS))
    api = Api("Ketalink orders", API_VERSION, DESCRIPTION, runtime.engine)
    COURSE_OPERATIONS.register(api)
    OPERATIONS.register(api)
    app = Flask("ketalink-orders")
    install_service(app, ORDERS_SERVICE, service)
    api.install(app)
    install(app, {"database": runtime.check_database})
    answer_errors(app)
    install_course(app, course)  # its service layer for its views, and its error answers
    install_ui(app, "Orders")
    install_ops(app, runtime)  # /ops: dead letters, held records, outbox backlog (operations staff only)
    app.register_blueprint(orders_pages)
    app.register_blueprint(course_pages)
    app.register_blueprint(patient_blueprint)  # the patient's questionnaire link: the token is its credential
    # CDS Hooks: the EHR's order entry calls these with its own JWT (services/orders/cds_hooks/auth.py).
    install_cds_hooks(app, build_cds_hooks(runtime, service, protocol, open_alert_ids(runtime)),
                      runtime.settings.public_base_url)
    # SMART: every request needs the clinician's session or a bearer token, except probes, static files and the
    # CDS Hooks endpoints (they carry the EHR's JWT instead).
    install_smart(app, runtime, public_endpoints=(*CDS_HOOKS_ENDPOINTS, *PATIENT_PAGE_ENDPOINTS))
    handlers = {
        INTAKE_ELIGIBILITY_DECIDED: in_turn(service.on_eligibility_decided, course.on_intake_baseline),  # intake
        INTAKE_REOPENED: service.on_intake_reopened,  # intake: the decision withdrawn
        CPOE_ORDER_PLACED: service.on_cpoe_order_placed,  # ehr.events
        # documentation: the course records the infusion, then orders marks the series infusion (and its order
        # event ends an induction series in the course)
        SESSION_COMPLETED: in_turn(course.on_session_completed, service.on_session_completed),
        QUESTIONNAIRE_RESPONSE_RECEIVED: course.on_questionnaire_response,  # ehr.events
    }
    # ehr.responses: the EHR's answers to our order and course messages, under the event code they answer; also
    # under the code of a course message sent before its rename, as an answer to one may still come (HZ-51).
    response_handlers = {
        ORDER_SIGNED: service.on_ehr_response,
        ORDER_CHANGED: service.on_ehr_response,
        ORDER_CANCELLED: service.on_ehr_response,
        COURSE_CHANGED: service.on_ehr_response,
        SUICIDALITY_ALERT: service.on_ehr_response,
        SUICIDALITY_ALERT_ACKNOWLEDGED: service.on_ehr_response,
        SCORE_RECORDED: service.on_ehr_response,
        RESPONSE_REACHED: service.on_ehr_response,
        REMISSION_REACHED: service.on_ehr_response,
        LOSS_OF_RESPONSE: service.on_ehr_response,
        RELAPSE_AFTER_REMISSION: service.on_ehr_response,
        REEVALUATION_DUE: service.on_ehr_response,
        LEGACY_RELAPSE: service.on_ehr_response,  # renamed loss-of-response
    }
    return app, handlers, response_handlers


def open_alert_ids(runtime: ServiceRuntime) -> OpenAlerts:
    """The ids of a patient's open suicidality alerts in the course, for the CDS Hooks cards (orders reads the
    course only here, in its wiring); on the connection given (the hook's other reads'), else on one of its own."""
    courses = CourseRepository()

    def open_ids(patient_id: str, conn: Connection | None = None) -> tuple[str, ...]:
        with nullcontext(conn) if conn is not None else runtime.engine.connect() as reading:
            return tuple(alert.alert_id for loaded in courses.for_patient(reading, patient_id)
                         for alert in loaded.course.open_alerts)
    return open_ids


def protocol_settings(clinic_timezone: str = "UTC") -> ProtocolSettings:
    """The clinic's protocol from ``ORDERS_*``; a bad value stops the process with a message naming it. The clinic's
    zone is the one every service uses (``KETALINK_CLINIC_TIMEZONE``, ``shared/clinic_time.py``), not a setting of
    its own."""
    try:
        return replace(load_settings(ProtocolSettings, "ORDERS_"), clinic_timezone=clinic_timezone)
    except SettingsError as error:
        sys.exit(f"orders: configuration error: {error}")
