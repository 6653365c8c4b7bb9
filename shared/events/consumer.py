"""The one place where an inbound Kafka record gets its outcome: done, retry in line, held (set aside so other
patients' records move on, ``shared/events/holding.py``), or dead-letter with the reason. The offset is committed
only after the outcome is final, and the message id is recorded in the same transaction as the handler's changes,
so a redelivered message has no effect."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from shared.events.consumer_health import WORKER_HEALTH, ConsumerHealth
from shared.events.kafka_clients import close_consumer
from shared.events.processing import (
    ANY_EVENT, EHR_OUTAGE_STATUSES, MAX_BATCH_RECORDS, BatchHandlers, Handler, Handlers, MessageProcessor, OutageError,
    PermanentError, TransientError, decode, is_outage,
)
from shared.events.topics import dead_letter_topic
from shared.config import load_settings
from shared.events.holding import (
    HeldKafkaRecord, HeldRecordRetrier, HoldHook, HoldingSettings, HoldStore, PartitionOwnership,
)
from shared.metrics import CONSUMER_ASSIGNMENTS, MESSAGE_SECONDS, MESSAGES_CONSUMED
from shared.logs import record_log_context
from shared.tracing import consumer_span

log = logging.getLogger(__name__)

# What the consumer's users import from here (the record's processing lives in shared/events/processing.py).
__all__ = ["ANY_EVENT", "EHR_OUTAGE_STATUSES", "MAX_BATCH_RECORDS", "BatchHandlers", "ConsumerLoop", "ConsumerPolicy",
           "Handler", "Handlers", "MessageProcessor", "OutageError", "PermanentError", "TransientError", "decode",
           "is_outage"]


@dataclass(frozen=True)
class ConsumerPolicy:
    # Backoff of the in-line retries (the record's partition waits). How many there are before a record is held,
    # and the held records' schedule, are settings: ``HoldingSettings`` (KETALINK_HELD_*).
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 15.0
    # The longest wait before building new clients after the loop failed (the broker away): short, so the loop is
    # back within seconds of the broker (the runtime sets KafkaSettings.client_restart_backoff_max_ms here).
    reconnect_max_backoff_s: float = 2.0


class ConsumerLoop:
    """Polls, processes record by record, commits after each final outcome. A PermanentError is dead-lettered at
    once; an OutageError seeks back and waits for as long as it lasts; any other failure seeks back and waits up to
    ``HoldingSettings.inline_attempts`` times, then the record is held (``shared/events/holding.py``) and the
    partition moves on. A record whose key has held records is held behind them without being tried. The retry
    worker (``HeldRecordRetrier``) runs beside the loop for the partitions this loop owns.

    With ``BatchHandlers`` (handlers that only change the database), the records of one partition from one poll
    are applied ``batch_records`` at a time in one transaction, with one offset commit after it; a batch in which
    any record fails is rolled back and its records are handled one by one as above, so the outcome of each is the
    one it has alone, in offset order. While this consumer has held records every record goes one by one.

    ``after_poll`` runs once the records of one poll are handled; the runtime wakes its outbox relay there. A lone
    message's answer then leaves at once instead of at the relay's next poll, while a backlog, which arrives in polls
    of many records, still leaves in the relay's batches (waking it after every record costs throughput; figures in
    docs/performance.md)."""

    def __init__(self, processor: MessageProcessor, consumer_factory: Callable[[], KafkaConsumer],
                 producer_factory: Callable[[], KafkaProducer], policy: ConsumerPolicy = ConsumerPolicy(),
                 name: str = "consumer", after_poll: Callable[[], None] | None = None,
                 holding: HoldingSettings | None = None, on_hold: HoldHook | None = None):
        """``holding``: the held records' settings; by default read from the environment (KETALINK_HELD_*), which
        raises SettingsError at start-up when one is invalid. ``on_hold`` runs in each hold's transaction."""
        self._processor = processor
        self._after_poll = after_poll
        self._consumer_factory = consumer_factory
        self._producer_factory = producer_factory
        self._policy = policy
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._attempts: dict[tuple[str, int, int], int] = {}
        self.assigned = threading.Event()
        self.health = ConsumerHealth(name)  # polls, commits and lag, for /readyz and /metrics
        self._holding = holding or load_settings(HoldingSettings, "KETALINK_HELD_")
        self._holds = HoldStore(processor.engine, name, on_hold)
        self._maybe_held = True  # False only after the table had no active held record of this consumer
        self._owned = PartitionOwnership()
        self._retry_producer: KafkaProducer | None = None
        self.retrier = HeldRecordRetrier(processor.engine, name, self._holding, self._process_held,
                                         self._dead_letter_held, self._owned.partitions,
                                         permanent=PermanentError, is_outage=is_outage)

    def start(self) -> None:
        WORKER_HEALTH.track(self.health)
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self.retrier.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        WORKER_HEALTH.untrack(self.health)
        self.retrier.stop(timeout_s)
        if self._thread:
            self._thread.join(timeout_s)
        _close_quietly(self._retry_producer, KafkaProducer.close)

    def _run(self) -> None:
        backoff_s = self._policy.initial_backoff_s
        while not self._stop.is_set():
            consumer = producer = None
            try:
                consumer = self._consumer_factory()
                producer = self._producer_factory()
                self._poll_until_stopped(consumer, producer)
                backoff_s = self._policy.initial_backoff_s
            except Exception as error:  # noqa: BLE001 - the loop must outlive broker outages
                self.health.failed(error)
                log.warning("consumer loop failed; reconnecting", extra={"error": type(error).__name__,
                                                                         "retry_in_s": backoff_s})
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self._policy.reconnect_max_backoff_s)
            finally:
                self._owned.replace(set())  # a new consumer joins the group again: it owns nothing until assigned
                _close_quietly(consumer, close_consumer)
                _close_quietly(producer, KafkaProducer.close)

    def _poll_until_stopped(self, consumer: KafkaConsumer, producer: KafkaProducer) -> None:
        reassigned = _Reassignments(self._name, self._owned)
        consumer.subscribe(sorted(consumer.subscription() or ()), listener=reassigned)
        self._maybe_held = True
        while not self._stop.is_set():
            batches = consumer.poll(timeout_ms=500)
            self.health.polled(consumer)
            moved = reassigned.take()
            if moved:
                _resume_from_committed(consumer, moved)
                batches = {partition: batch for partition, batch in batches.items() if partition not in moved}
                self._maybe_held = True  # another replica may have held records of these partitions
            if batches and self._maybe_held:
                # Once per poll, not per record: while nothing is held, no record asks whether its key is.
                self._maybe_held = self._holds.any_held()
            if consumer.assignment():
                self.assigned.set()
            for partition, batch in batches.items():
                self._handle_partition(consumer, producer, partition, batch)
            if batches and self._after_poll is not None:
                self._after_poll()

    def _handle_partition(self, consumer: KafkaConsumer, producer: KafkaProducer, partition: TopicPartition,
                          batch: list[Any]) -> None:
        """One partition's records of one poll, in offset order: together, ``batch_records`` at a time, when the
        handlers allow it and nothing of this consumer is held; one by one otherwise, and for the records of a batch
        that failed together."""
        size = self._processor.batch_records
        for start in range(0, len(batch), size):
            chunk = batch[start:start + size]
            if len(chunk) > 1 and not self._maybe_held and self._apply_together(consumer, partition, chunk):
                continue
            for record in chunk:
                with record_log_context(record):  # each log line about it names its message id and offset
                    handled = self._handle_record(consumer, producer, partition, record)
                if not handled:
                    return  # a transient failure: the rest of this partition is re-read after the seek

    def _apply_together(self, consumer: KafkaConsumer, partition: TopicPartition, records: list[Any]) -> bool:
        """Apply ``records`` in one transaction, then commit the offset after the last one. A crash before the
        commit applies none of them and the broker delivers them all again; after it, before the offset commit, all
        of them come again and each is a duplicate (its message id was recorded with its changes). False, with
        nothing applied, when any of them failed or the commit did: the caller then handles each one alone, so a
        record that cannot be applied is retried, held or dead-lettered by itself and its neighbours are applied."""
        started = time.perf_counter()
        outcomes: list[str] = []
        try:
            with self._processor.engine.begin() as conn:
                for record in records:
                    with record_log_context(record), consumer_span(record, self._name):
                        outcomes.append(self._processor.process_in(conn, record.topic, record.value))
        except Exception as error:  # noqa: BLE001 - nothing applied; each record gets its own outcome next
            log.info("records handled one by one: one of them failed in a batch", extra={
                "topic": records[0].topic, "partition": records[0].partition, "offset": records[0].offset,
                "records": len(records), "error": type(error).__name__})
            return False
        last = records[-1]
        consumer.commit({partition: OffsetAndMetadata(last.offset + 1, "", -1)})
        self.health.committed(partition, last.offset + 1)
        seconds_each = (time.perf_counter() - started) / len(records)
        for record, outcome in zip(records, outcomes):
            self._attempts.pop((record.topic, record.partition, record.offset), None)
            MESSAGES_CONSUMED.labels(record.topic, outcome).inc()
            MESSAGE_SECONDS.labels(record.topic).observe(seconds_each)
            with record_log_context(record):
                log.info("message processed", extra={"topic": record.topic, "partition": record.partition,
                                                     "offset": record.offset, "outcome": outcome})
        return True

    def _handle_record(self, consumer: KafkaConsumer, producer: KafkaProducer, partition: TopicPartition,
                       record: Any) -> bool:
        key = (record.topic, record.partition, record.offset)
        started = time.perf_counter()
        try:
            if self._maybe_held and self._holds.key_is_held(record.topic, record.key):
                # Its key's earlier records are held: it waits behind them, untried, whatever it holds (even one
                # that would be dead-lettered: it may be refused only because the earlier ones are not applied yet).
                self._holds.hold(record, attempts=0, reason="behind an earlier held record of its key", settings=None)
                outcome = "held"
            else:
                with consumer_span(record, self._name):  # continues the trace its headers carry (shared/tracing.py)
                    outcome = self._processor.process(record.topic, record.value)
        except PermanentError as error:
            self._dead_letter(producer, record, str(error))
            outcome = "dead-lettered"
        except Exception as error:  # noqa: BLE001 - an outage waits in line; anything else a few times, then held
            attempts = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempts
            if is_outage(error) or attempts < self._holding.inline_attempts:
                MESSAGES_CONSUMED.labels(record.topic, "retry").inc()
                log.warning("message processing failed; will retry", extra={
                    "topic": record.topic, "offset": record.offset, "attempt": attempts,
                    "error": type(error).__name__, "reason": _safe_reason(error)})
                consumer.seek(partition, record.offset)
                backoff_s = self._policy.initial_backoff_s * 2 ** min(attempts - 1, 16)
                self._stop.wait(min(backoff_s, self._policy.max_backoff_s))
                return False
            self._holds.hold(record, attempts=attempts, reason=_safe_reason(error), settings=self._holding)
            self._maybe_held = True
            log.warning("message held: it kept failing; the partition moves on and its key's later messages wait "
                        "behind it", extra={"topic": record.topic, "partition": record.partition,
                                            "offset": record.offset, "attempt": attempts,
                                            "error": type(error).__name__})
            outcome = "held"
        self._attempts.pop(key, None)
        consumer.commit({partition: OffsetAndMetadata(record.offset + 1, "", -1)})
        self.health.committed(partition, record.offset + 1)
        MESSAGES_CONSUMED.labels(record.topic, outcome).inc()
        MESSAGE_SECONDS.labels(record.topic).observe(time.perf_counter() - started)
        log.info("message processed", extra={"topic": record.topic, "partition": record.partition,
                                             "offset": record.offset, "outcome": outcome})
        return True

    def _process_held(self, record: HeldKafkaRecord) -> str:
        """The retry worker's attempt (it runs it in the record's log and trace context)."""
        return self._processor.process(record.topic, record.value)

    def _dead_letter_held(self, record: HeldKafkaRecord, reason: str) -> None:
        """The retry worker's dead-letters, through a producer of its own (the loop's is rebuilt with its consumer)."""
        if self._retry_producer is None:
            self._retry_producer = self._producer_factory()
        try:
            self._dead_letter(self._retry_producer, record, reason)
        except Exception:
            _close_quietly(self._retry_producer, KafkaProducer.close)
            self._retry_producer = None
            raise

    def _dead_letter(self, producer: KafkaProducer, record: Any, reason: str) -> None:
        """Publish the raw record with the reason; wait for the broker so the offset is committed only after."""
        headers = list(record.headers or []) + [
            ("dlq-reason", reason.encode()[:2000]),
            ("dlq-consumer", self._name.encode()),
            ("dlq-source-topic", record.topic.encode()),
            ("dlq-source-partition", str(record.partition).encode()),
            ("dlq-source-offset", str(record.offset).encode()),
        ]
        producer.send(dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers).get(
            timeout=30)
        log.warning("message dead-lettered", extra={"topic": record.topic, "offset": record.offset,
                                                    "reason": reason[:300]})


class _Reassignments(ConsumerRebalanceListener):
    """The partitions the last rebalance assigned, for the loop to move to the group's committed offsets. Runs
    inside kafka-python's event loop, so it only takes note: the offsets are fetched by the loop's own thread."""

    def __init__(self, consumer_name: str, owned: PartitionOwnership) -> None:
        self._assigned: set[TopicPartition] = set()
        self._lock = threading.Lock()
        self._assignments = CONSUMER_ASSIGNMENTS.labels(consumer_name)
        self._owned = owned

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._owned.replace(set())  # the retry worker stops claiming these before another consumer may take them

    def on_partitions_assigned(self, assigned: Any) -> None:
        with self._lock:
            self._assigned = set(assigned)
        self._owned.replace(set(assigned))
        self._assignments.inc()

    def take(self) -> set[TopicPartition]:
        with self._lock:
            assigned, self._assigned = self._assigned, set()
        return assigned


def _resume_from_committed(consumer: KafkaConsumer, partitions: set[TopicPartition]) -> None:
    """After a rebalance, read each partition from the offset the group committed, or from its start when nothing is
    committed. kafka-python 3.0 keeps the position of a partition a consumer had before the rebalance; after the
    embedded broker restarted (it keeps nothing), that position pointed past the recreated topic's first records,
    and they were skipped (the fault tests lost vitals that way). Normally the committed offset is the position
    already: this loop commits each record as it finishes it. Records the poll returned for these partitions are
    dropped by the caller and fetched again from here."""
    for partition in partitions:
        committed = consumer.committed(partition)
        if committed is None:
            consumer.seek_to_beginning(partition)
        else:
            consumer.seek(partition, committed)


def _close_quietly(client: Any, close: Callable[[Any], None]) -> None:
    if client is not None:
        try:
            close(client)
        except Exception:  # noqa: BLE001 - closing a broken client may fail; it is discarded anyway
            pass


def _safe_reason(error: BaseException) -> str:
    """Error text for logs and dead-letter headers. Domain and FHIR errors name fields, never values."""
    return f"{type(error).__name__}: {error}"[:500]
