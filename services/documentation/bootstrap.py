"""Wiring the documentation service: clinic settings, the service layer, the Flask app with its API and pages, and
every Kafka handler table. ``build(runtime)`` is called by ``__main__`` (web and worker), ``wsgi`` (web) and
``worker``; nothing happens at import."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from services.documentation.access import SERVICE_KEY
from services.documentation.api import create_api, install_error_mapping
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.settings import SessionSettings
from services.documentation.ehr_reads import EHR_NEEDS, EhrPatients, EhrWeights
from services.documentation.handlers import DocumentationService
from services.documentation.ui import UI_SETTINGS_KEY, UI_TITLE, UiSettings, ui
from services.documentation.ui.board import install_board
from services.documentation.ui.status_strip import install_status_strip
from shared.clock import ClinicalClock
from shared.config import SettingsError, load_settings
from shared.events.consumer import ANY_EVENT, MAX_BATCH_RECORDS, BatchHandlers, Handlers
from shared.events.event_codes import (
    EHR_VITALS_RECORDED,
    ORDER_CANCELLED,
    ORDER_CHANGED,
    ORDER_SIGNED,
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

SETTINGS_PREFIX = "DOCUMENTATION_"


@dataclass(frozen=True)
class ApiSettings:
    """``DOCUMENTATION_FUTURE_TIME_TOLERANCE_S``: how far ahead of the server's clock a clinical time may be (the
    tablet's clock drifts); anything later is refused as a time in the future."""

    future_time_tolerance_s: int = 120

    def validate(self) -> None:
        if not 0 <= self.future_time_tolerance_s <= 3600:
            raise ValueError("future_time_tolerance_s must be 0-3600")


@dataclass(frozen=True)
class WorkerSettings:
    """``DOCUMENTATION_CONSUMER_BATCH_RECORDS``: how many records of one partition the consumer may apply in one
    transaction (one durable commit, one offset commit) when a poll brings several, e.g. a device feed's backlog.
    The handlers only change the store, so a batch is all or nothing and a record that fails is then handled alone
    (``shared.events.consumer.BatchHandlers``). Higher drains a backlog faster; a batch holds the store's write lock
    (SQLite) or its sessions' rows (PostgreSQL) until it commits, so a clinician's entry may wait for one batch
    (about 2-4 ms of work per record). 1 applies each record alone."""

    consumer_batch_records: int = 16

    def validate(self) -> None:
        if not 1 <= self.consumer_batch_records <= MAX_BATCH_RECORDS:
            raise ValueError(f"consumer_batch_records must be 1-{MAX_BATCH_RECORDS}")


def build(runtime: ServiceRuntime) -> tuple[Flask, Handlers, Handlers]:
    try:
        check_pdf_libraries()  # the signed note's PDF: a missing pango stops the start, not the first signature
        settings = load_settings(SessionSettings, SETTINGS_PREFIX)
        api_settings = load_settings(ApiSettings, SETTINGS_PREFIX)
        worker_settings = load_settings(WorkerSettings, SETTINGS_PREFIX)
        ui_settings = UiSettings(runtime.clinic_time.zone.key)  # the clinic's one zone: KETALINK_CLINIC_TIMEZONE
    except SettingsError as error:
        sys.exit(f"{runtime.name}: configuration error: {error}")
    clock = ClinicalClock(timedelta(seconds=api_settings.future_time_tolerance_s), error=DocumentationInputError)
    service = DocumentationService(runtime, settings, clock, EhrWeights(runtime.ehr),
                                   clinic_zone=ui_settings.zone, patients=EhrPatients(runtime.ehr))
    # Warn (never stop) about what the EHR's CapabilityStatement does not list; in a thread, never delaying the start.
    check_in_background(runtime.ehr, (*EHR_NEEDS, *PAGE_NEEDS))
    app = Flask(__name__)
    install(app, {"database": runtime.check_database})
    install_service(app, SERVICE_KEY, service)
    install_service(app, UI_SETTINGS_KEY, ui_settings)
    install_error_mapping(app)
    create_api(runtime.engine).install(app)
    install_ui(app, UI_TITLE)
    install_ops(app, runtime)  # /ops: dead letters, held records, outbox backlog (operations staff only)
    install_board(app)  # DOCUMENTATION_BOARD_*: who may see the suite board, its refresh, how names are shown
    install_status_strip(app)  # DOCUMENTATION_STATUS_STRIP_REFRESH_S: how often the session page's strip asks
    app.register_blueprint(ui)
    # every API call and page needs a token; probes and static files stay open. /launch/user/board and
    # /launch/user/ops: the launches without a patient for the suite board and the operations page
    install_smart(app, runtime, user_views=("board", "ops"))
    # ketalink.orders.events and ehr.events: order events → sessions; vitals from the EHR → the flowsheet; the
    # course's suicidality alerts → kept for the day-of-infusion check (issue 13 defect 5); other events are not
    # for this service. They only change the store, so a poll's records may share a transaction (WorkerSettings).
    handlers = BatchHandlers({
        ORDER_SIGNED: service.on_order_event,
        ORDER_CHANGED: service.on_order_event,
        ORDER_CANCELLED: service.on_order_event,
        EHR_VITALS_RECORDED: service.on_ehr_vitals,
        SUICIDALITY_ALERT: service.on_suicidality_alert,
        SUICIDALITY_ALERT_ACKNOWLEDGED: service.on_suicidality_alert,
    }, worker_settings.consumer_batch_records)
    # ehr.responses: the EHR's answers; those to this service's messages are logged.
    response_handlers = {ANY_EVENT: service.on_ehr_response}
    return app, handlers, response_handlers
