"""The worker's metrics that are read when Prometheus scrapes rather than counted as things happen: the outbox
backlog and the age of its oldest unsent event (one indexed query per service), and whether each worker component
is ready. Also the count of the EHR's answers to this service's own messages, by event and response code.

Read at scrape time, the backlog is the true one (every unsent event, not one relay batch), even while the relay is
stuck. Only a process that runs a worker registers engines here (``watch_worker``), so web processes export none.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from shared.config import load_settings
from shared.db import outbox, utcnow
from shared.events.consumer import Handler, Handlers
from shared.events.consumer_health import WORKER_HEALTH, WorkerHealthSettings
from shared.events.dead_letter_watch import DeadLetterWatch, DeadLetterWatchSettings
from shared.events.kafka_clients import KafkaSettings
from shared.events.outbox import outbox_backlog
from shared.fhir.messaging import Message
from shared.metrics import EHR_RESPONSES

log = logging.getLogger(__name__)


class WorkerCollector(Collector):
    """``ketalink_outbox_backlog``, ``ketalink_outbox_oldest_unsent_age_seconds`` (label ``outbox``: the service
    whose outbox; every worker replica of a service reports the same table) and
    ``ketalink_worker_ready`` (by component), computed on each scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[str, Engine] = {}

    def watch(self, service: str, engine: Engine) -> None:
        with self._lock:
            self._engines[service] = engine

    def unwatch(self, service: str) -> None:
        with self._lock:
            self._engines.pop(service, None)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("ketalink_outbox_backlog", "Events in the outbox not yet acknowledged by the "
                                    "broker", labels=["outbox"])
        oldest = GaugeMetricFamily("ketalink_outbox_oldest_unsent_age_seconds", "How long the oldest unsent event "
                                   "has waited (0 when none waits)", labels=["outbox"])
        with self._lock:
            engines = dict(self._engines)
        for service, engine in sorted(engines.items()):
            try:
                with engine.connect() as conn:
                    found = outbox_backlog(conn)
            except Exception as error:  # noqa: BLE001 - a database that does not answer leaves the gauge out
                log.warning("outbox backlog unknown", extra={"service": service, "error": type(error).__name__})
                continue
            backlog.add_metric([service], found.pending)
            oldest.add_metric([service], found.oldest_age_s(utcnow()))
        yield backlog
        yield oldest
        ready = GaugeMetricFamily("ketalink_worker_ready", "1 while a worker component (consumer loop, outbox relay) "
                                  "does its work, 0 while it is stalled (see /readyz)", labels=["component"])
        for component in WORKER_HEALTH.components():
            ready.add_metric([component.name], 0 if component.problem(WORKER_HEALTH.settings.stall_after_s) else 1)
        yield ready


COLLECTOR = WorkerCollector()
REGISTRY.register(COLLECTOR)


_DEAD_LETTER_WATCHES: dict[str, DeadLetterWatch] = {}


def watch_worker(service: str, engine: Engine, kafka: KafkaSettings | None = None,
                 consumer_name: str | None = None) -> None:
    """Called when a process starts its worker: validates the health settings (a bad one stops the start with
    SettingsError), exports the service's outbox backlog and, given its Kafka settings, counts its waiting dead
    letters now and then."""
    WORKER_HEALTH.configure(load_settings(WorkerHealthSettings, "KETALINK_WORKER_"))
    COLLECTOR.watch(service, engine)
    if kafka is not None:
        interval_s = load_settings(DeadLetterWatchSettings, "KETALINK_WORKER_").dead_letter_check_s
        previous = _DEAD_LETTER_WATCHES.pop(service, None)
        if previous is not None:
            previous.stop()
        watch = DeadLetterWatch(service, engine, kafka, consumer_name or f"ketalink-{service}", interval_s)
        _DEAD_LETTER_WATCHES[service] = watch
        watch.start()


def unwatch_worker(service: str) -> None:
    """The worker stopped: its outbox and dead letters are no longer this process's to report."""
    COLLECTOR.unwatch(service)
    watch = _DEAD_LETTER_WATCHES.pop(service, None)
    if watch is not None:
        watch.stop()


def counting_answers(handlers: Handlers) -> Handlers:
    """Wrap the handlers of the EHR's response messages so each answer to one of this service's own messages is
    counted by the answered event and the response code (``ehr.responses`` is shared: others' answers are not)."""
    return {code: _counting(handler) for code, handler in handlers.items()}


def _counting(handler: Handler) -> Handler:
    def counted(message: Message, conn: Connection) -> None:
        handler(message, conn)
        if message.response_code is not None and _sent_by_us(conn, message.response_to):
            EHR_RESPONSES.labels(message.event_code, message.response_code.value).inc()

    return counted


def _sent_by_us(conn: Connection, message_id: str | None) -> bool:
    return message_id is not None and conn.execute(
        select(outbox.c.id).where(outbox.c.message_id == message_id)).first() is not None
