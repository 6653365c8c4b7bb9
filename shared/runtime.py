"""Wiring a service process together: settings, database, FHIR client, outbox relay, consumer loop, web server.

Each service's ``bootstrap`` builds a ``ServiceRuntime``; the same object serves the Flask app, the Kafka worker
and the tests. Kafka clients are created when the worker starts (after any gunicorn fork), never at import.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Flask
from kafka import KafkaConsumer
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from werkzeug.serving import make_server

from shared.clinic_time import ClinicTimeSettings, load_clinic_time, set_process_clinic_zone
from shared.config import SettingsError, load_settings
from shared.db import create_database
from shared.events.consumer import ConsumerLoop, ConsumerPolicy, Handlers, MessageProcessor
from shared.events.holding import HoldHook
from shared.events.kafka_clients import KafkaSettings, create_consumer, create_producer, ensure_topics
from shared.events.outbox import OutboxRelay, enqueue
from shared.events.topics import ACCESS
from shared.events.worker_metrics import counting_answers, unwatch_worker, watch_worker
from shared.fhir.client import AccessTokens, FhirClient
from shared.fhir.datatypes import FhirJson
from shared.idempotency import claim_in
from shared.logs import configure_logging
from shared.smart.backend import load_backend_auth
from shared.tracing import trace_service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceSettings:
    """Environment (no prefix): ``DATABASE_URL``, ``EHR_FHIR_BASE_URL``, ``HTTP_HOST``, ``HTTP_PORT``, ..."""

    database_url: str = ""
    ehr_fhir_base_url: str = "http://127.0.0.1:8090/fhir"
    http_host: str = "127.0.0.1"
    http_port: int = 0
    public_base_url: str = ""
    log_level: str = "INFO"
    run_worker: bool = True  # the web process also runs the consumer and outbox relay (local stack)
    ehr_timeout_s: float = 10.0
    consumer_group: str = ""  # default ketalink-<service>; every replica of one service shares it

    def validate(self) -> None:
        if not self.ehr_fhir_base_url.startswith(("http://", "https://")):
            raise ValueError("EHR_FHIR_BASE_URL must be an http(s) URL")
        if not 0 <= self.http_port <= 65535:
            raise ValueError("HTTP_PORT must be 0-65535")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")


class ServiceRuntime:
    def __init__(self, name: str, settings: ServiceSettings, kafka: KafkaSettings,
                 clinic_time: ClinicTimeSettings | None = None, ehr_tokens: AccessTokens | None = None,
                 schema_in_child: bool = False):
        """``ehr_tokens``: the service's own token for its EHR reads (SMART Backend Services,
        ``shared/smart/backend.py``); ``from_environment`` builds it from ``EHR_BACKEND_*``. ``schema_in_child``
        (a service process): the database is migrated or checked in a child interpreter (``shared.db``)."""
        self.name = name
        self.settings = settings
        self.kafka = kafka
        # The clinic's zone (KETALINK_CLINIC_TIMEZONE, shared/clinic_time.py): every page, form and note uses it.
        self.clinic_time = clinic_time or load_clinic_time()
        set_process_clinic_zone(self.clinic_time.zone)
        self.engine: Engine = create_database(settings.database_url or f"sqlite:///var/{name}.db",
                                              schema_in_child=schema_in_child)
        trace_service(name, self.engine)  # OpenTelemetry from OTEL_* (off by default): shared/tracing.py
        self.ehr = FhirClient(settings.ehr_fhir_base_url, timeout_s=settings.ehr_timeout_s, tokens=ehr_tokens)
        self.source_endpoint = settings.public_base_url or f"urn:ketalink:{name}"
        self.relay = OutboxRelay(self.engine, lambda: create_producer(kafka, f"ketalink-{name}-outbox"),
                                 on_reconnect=self.ensure_topics, max_backoff_s=kafka.client_restart_backoff_max_s)
        self.consumer: ConsumerLoop | None = None

    @classmethod
    def from_environment(cls, name: str) -> "ServiceRuntime":
        settings = load_settings(ServiceSettings, "")
        configure_logging(name, settings.log_level)
        return cls(name, settings, load_settings(KafkaSettings, "KAFKA_"), load_clinic_time(),
                   load_backend_auth(name, settings.ehr_fhir_base_url), schema_in_child=True)

    @property
    def clinic_zone(self) -> ZoneInfo:
        return self.clinic_time.zone

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One unit of work: record changes and outbox events commit together (with the request's
        ``Idempotency-Key``, when it has one: ``shared/idempotency.py``); the relay is woken after."""
        with self.engine.begin() as conn:
            yield conn
            claim_in(conn)
        self.relay.wake()

    def publish(self, conn: Connection, topic: str, patient_id: str, message: FhirJson) -> str:
        return enqueue(conn, topic, patient_id, message)

    def ensure_topics(self) -> None:
        """Create this service's own topics if missing (under ACLs a service sees only those)."""
        access = ACCESS[self.name]
        ensure_topics(self.kafka, sorted({*access.reads, *access.writes, *access.dead_letter_writes}))

    def start_worker(self, handlers: Handlers, policy: ConsumerPolicy = ConsumerPolicy(),
                     response_handlers: Handlers | None = None, on_hold: HoldHook | None = None) -> None:
        """Start the outbox relay and, when there are handlers, the consumer of this service's topics (events go to
        ``handlers``, response messages to ``response_handlers``; see ``MessageProcessor``; ``on_hold`` runs in the
        transaction that holds a record that kept failing, ``shared/events/holding.py``)."""
        self.kafka.require_credentials()
        # Readiness settings checked; outbox backlog and waiting dead letters on /metrics.
        watch_worker(self.name, self.engine, self.kafka, self.settings.consumer_group or f"ketalink-{self.name}")
        self.relay.start()
        policy = dataclasses.replace(policy, reconnect_max_backoff_s=self.kafka.client_restart_backoff_max_s)
        if handlers or response_handlers:
            processor = MessageProcessor(self.engine, handlers, counting_answers(response_handlers or {}))
            topics = list(ACCESS[self.name].reads)

            def consumer_factory() -> KafkaConsumer:
                self.ensure_topics()
                group = self.settings.consumer_group or f"ketalink-{self.name}"
                return create_consumer(self.kafka, group, topics, f"ketalink-{self.name}")

            self.consumer = ConsumerLoop(processor, consumer_factory,
                                         lambda: create_producer(self.kafka, f"ketalink-{self.name}-dlq"),
                                         policy, name=self.settings.consumer_group or f"ketalink-{self.name}",
                                         after_poll=self.relay.wake, on_hold=on_hold)
            self.consumer.start()

    def stop_worker(self) -> None:
        unwatch_worker(self.name)
        if self.consumer:
            self.consumer.stop()
        self.relay.stop()

    def check_database(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def serve(runtime: ServiceRuntime, app: Flask, handlers: Handlers, response_handlers: Handlers) -> None:
    """Run one service process (local stack): worker threads plus a threaded HTTP server; SIGTERM/SIGINT stop it."""
    if runtime.settings.run_worker:
        try:
            runtime.start_worker(handlers, response_handlers=response_handlers)
        except SettingsError as error:
            sys.exit(f"{runtime.name}: configuration error: {error}")
    server = make_server(runtime.settings.http_host, runtime.settings.http_port or 8000, app, threaded=True)
    stopping = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("service listening", extra={"service": runtime.name, "port": server.server_port})
    try:
        server.serve_forever()
    finally:
        runtime.stop_worker()
        log.info("service stopped", extra={"service": runtime.name})


# A service's ``bootstrap.build``: its Flask app, its event handlers and its handlers of the EHR's responses.
Builder = Callable[[ServiceRuntime], tuple[Flask, Handlers, Handlers]]


def _runtime_or_exit(name: str) -> ServiceRuntime:
    try:
        return ServiceRuntime.from_environment(name)
    except SettingsError as error:
        sys.exit(f"{name}: configuration error: {error}")


def _require_public_base_url(runtime: ServiceRuntime) -> None:
    """A web process outside local runs needs its public address: every request's Host is checked against it and
    the SMART ``redirect_uri`` is built from it (``shared/edge.py``), never from what a client sent."""
    if not runtime.clinic_time.local_run and not runtime.settings.public_base_url.startswith(("http://", "https://")):
        sys.exit(f"{runtime.name}: configuration error: PUBLIC_BASE_URL (this service's external http(s) URL) is "
                 "required outside local runs (KETALINK_LOCAL_RUN=true): the Host of every request is checked "
                 "against it and the SMART redirect_uri is built from it")


def main(name: str, build: Builder) -> None:
    """``python -m services.<name>``: web and worker in one process (the local stack)."""
    runtime = _runtime_or_exit(name)
    _require_public_base_url(runtime)
    app, handlers, response_handlers = build(runtime)
    serve(runtime, app, handlers, response_handlers)


def wsgi_app(name: str, build: Builder) -> Flask:
    """For gunicorn (``services.<name>.wsgi:app``): the web part only; the worker runs as its own process."""
    runtime = _runtime_or_exit(name)
    _require_public_base_url(runtime)
    app, _handlers, _response_handlers = build(runtime)
    return app


def run_worker(name: str, build: Builder) -> None:
    """``python -m services.<name>.worker``: the consumer and outbox relay without the web server."""
    runtime = _runtime_or_exit(name)
    _app, handlers, response_handlers = build(runtime)
    try:
        runtime.start_worker(handlers, response_handlers=response_handlers)
    except SettingsError as error:
        sys.exit(f"{name}: configuration error: {error}")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    log.info("worker running", extra={"service": name})
    stopped.wait()
    runtime.stop_worker()
