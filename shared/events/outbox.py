"""The transactional outbox: an event is saved with the change that caused it and sent to Kafka later, so a broker
outage delays events but never loses them (HAPI #4733 lost events before it did this)."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from shared.db import outbox, utcnow
from shared.fhir.datatypes import FhirJson
from shared.events.consumer_health import WORKER_HEALTH, RelayHealth
from shared.metrics import OUTBOX_SENT, OUTBOX_SEND_FAILURES
from shared.tracing import current_trace_context, publish_headers

log = logging.getLogger(__name__)

CONTENT_TYPE = b"application/fhir+json"


def enqueue(conn: Connection, topic: str, key: str | None, message: FhirJson) -> str:
    """Store ``message`` (a FHIR message Bundle) for sending, inside the caller's transaction; returns its id."""
    header = message["entry"][0]["resource"]
    conn.execute(_ENQUEUE, {
        "message_id": header["id"], "topic": topic, "message_key": key,
        "event_code": header["eventCoding"]["code"], "payload": json.dumps(message, separators=(",", ":")),
        "created_at": utcnow(), "attempts": 0, "trace_context": current_trace_context(),  # the request's trace goes on
    })
    return header["id"]


_ENQUEUE = outbox.insert()  # built once: building the statement per message cost more than running it


@dataclass(frozen=True)
class OutboxBacklog:
    """Every event not yet acknowledged by the broker (not just one relay batch), and when the oldest was saved."""
    pending: int
    oldest_created_at: datetime | None

    def oldest_age_s(self, now: datetime) -> float:
        """Seconds the oldest unsent event has waited; 0 when nothing waits."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_created_at).total_seconds())


def outbox_backlog(conn: Connection) -> OutboxBacklog:
    """Count and age of the unsent events (one indexed query on ``sent_at``)."""
    pending, oldest = conn.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)  # SQLite keeps no offset; every time stored here is UTC
    return OutboxBacklog(pending=int(pending), oldest_created_at=oldest)


class OutboxRelay:
    """Sends pending outbox rows in order, marks each sent after the broker acknowledged it, and backs off while the
    broker is away. A producer that failed is replaced, since after a broker restart its producer id is unknown."""

    def __init__(self, engine: Engine, producer_factory: Callable[[], KafkaProducer],
                 on_reconnect: Callable[[], None] | None = None,
                 poll_interval_s: float = 0.2, max_backoff_s: float = 2.0, batch_size: int = 100):
        self._engine = engine
        self._producer_factory = producer_factory
        self._on_reconnect = on_reconnect
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        self._batch_size = batch_size
        self._producer: KafkaProducer | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.health = RelayHealth("outbox-relay")

    def start(self) -> None:
        WORKER_HEALTH.track(self.health)
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    @property
    def max_backoff_s(self) -> float:
        """The longest wait between tries while the broker is away (KafkaSettings.client_restart_backoff_max_ms)."""
        return self._max_backoff_s

    def wake(self) -> None:
        """Ask the relay to look at the outbox now (called after a commit that enqueued events)."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout_s)
        if self._producer is not None:
            self._producer.close(timeout=2)
        WORKER_HEALTH.untrack(self.health)

    def send_pending(self) -> int:
        """Send what is pending now; returns how many were sent. Raises KafkaError when the broker fails.

        On PostgreSQL the rows stay locked while they are sent (``FOR UPDATE SKIP LOCKED``), so two worker replicas
        never send the same event. SQLite has one process and one writer: there the rows are read, sent, then
        marked in a second transaction, since holding a read snapshot across the send would make the marking
        fail whenever the web thread wrote meanwhile."""
        if self._engine.dialect.name == "sqlite":
            with self._engine.connect() as conn:
                rows = self._pending(conn, lock=False)
            if not rows:
                return 0
            sent_ids, first_error = self._send(rows)
            with self._engine.begin() as conn:
                self._mark(conn, rows, sent_ids, first_error)
        else:
            with self._engine.begin() as conn:
                rows = self._pending(conn, lock=True)
                if not rows:
                    return 0
                sent_ids, first_error = self._send(rows)
                self._mark(conn, rows, sent_ids, first_error)
        OUTBOX_SENT.inc(len(sent_ids))
        if first_error is not None:
            raise KafkaError(f"outbox send failed: {type(first_error).__name__}") from first_error
        return len(sent_ids)

    def _pending(self, conn: Connection, lock: bool) -> list:
        query = select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(self._batch_size)
        rows = conn.execute(query.with_for_update(skip_locked=True) if lock else query).mappings().all()
        return list(rows)

    @staticmethod
    def _mark(conn: Connection, rows: list, sent_ids: list[int], first_error: Exception | None) -> None:
        if sent_ids:
            conn.execute(outbox.update().where(outbox.c.id.in_(sent_ids)).values(sent_at=utcnow()))
        if first_error is not None:
            failed = rows[len(sent_ids)]
            conn.execute(outbox.update().where(outbox.c.id == failed["id"]).values(
                attempts=failed["attempts"] + 1, last_error=type(first_error).__name__))

    def _send(self, rows: list) -> tuple[list[int], Exception | None]:
        """Send ``rows`` in order; the ids acknowledged before the first failure, and that failure."""
        producer = self._get_producer()
        futures = []
        try:
            for row in rows:
                headers = [("message-id", row["message_id"].encode()), ("event-code", row["event_code"].encode()),
                           ("content-type", CONTENT_TYPE)]
                headers += publish_headers(row["trace_context"], row["topic"], row["message_id"], row["event_code"])
                futures.append((row, producer.send(
                    row["topic"], value=row["payload"].encode(),
                    key=row["message_key"].encode() if row["message_key"] else None, headers=headers,
                )))
            producer.flush()
        except Exception as error:  # noqa: BLE001 - a send that cannot even start fails like a send that failed
            if not futures:
                return [], error
        sent_ids: list[int] = []
        for row, future in futures:
            try:
                future.get(timeout=0)
                sent_ids.append(row["id"])
            except Exception as error:  # noqa: BLE001 - any send failure keeps the row for the next attempt
                return sent_ids, error  # keep order: later rows wait for the failed one
        return sent_ids, None

    def _get_producer(self) -> KafkaProducer:
        if self._producer is None:
            if self._on_reconnect is not None:
                self._on_reconnect()
            self._producer = self._producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001 - a broken producer may fail to close; it is discarded anyway
                pass
            self._producer = None

    def _run(self) -> None:
        backoff_s = 0.5
        while not self._stop.is_set():
            try:
                sent = self.send_pending()
                self.health.succeeded()
                backoff_s = 0.5
                if sent:
                    continue
            except Exception as error:  # noqa: BLE001 - the relay must outlive broker outages
                OUTBOX_SEND_FAILURES.inc()
                self.health.failed(error)
                log.warning("outbox send failed; will retry", extra={"error": type(error).__name__,
                                                                     "retry_in_s": backoff_s})
                self._drop_producer()
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self._max_backoff_s)
                continue
            self._wake.wait(self._poll_interval_s)
            self._wake.clear()
