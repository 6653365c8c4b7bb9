"""Records that keep failing are set aside, so one patient's poison record never blocks other patients' records.

A record that still fails after a short in-line retry budget is moved to the ``held_records`` table (with its value
and headers) and its offset committed; the partition moves on. Kafka keys are patient ids, and a key's records must
be applied in order, so while a key has held records each later record of that key is held behind them (appended,
in offset order) instead of processed. A retry worker thread beside the consumer re-attempts each key's oldest held
record when it is due, with growing delays; on success the key's next held records follow in order, and the key is
free again when none are left. After ``max_attempts`` failures (or ``max_age_s`` held) the record is ``parked``:
it stays, with its key's later records behind it, and an alert (``ketalink_held_records{state="parked"}`` and an
error log line with ids only) until ops release or discard it (``shared/events/held.py``).

Why a table and not a retry topic with growing delays: a retry topic can delay one record, but the key's later
records keep arriving on the source partition and would be processed before it, out of order. Keeping them in
order needs a durable list of blocked keys and the records behind them anyway; with that table the records
themselves may as well live there (one transaction holds a record, no second topic per source topic, no consumer
that has to sleep until a record is due, and ops can list, release or discard by id).

Several replicas: a key's records live in one partition and the group gives each partition to one consumer at a
time, so a held record is retried only by the process whose consumer owns its source partition now (the claim by
partition ownership; after a rebalance the new owner takes the held records over, since they live in the database).
During a rebalance the old owner may still be in the middle of an attempt, so on PostgreSQL the attempt also holds
the key's oldest row ``FOR UPDATE SKIP LOCKED``: a second replica skips a key that is being attempted. SQLite is
one process's store, where ownership alone suffices. An attempt that does run twice is still applied once:
``processed_messages`` guards every message id.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from kafka import TopicPartition
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.db import held_records, utcnow
from shared.events.held import (
    ACTIVE_STATES, COLUMNS, PARKED, RETRYING, WAITING, HeldRecord, as_held_record, key_head,
)
from shared.metrics import HELD_RECORDS
from shared.logs import record_log_context
from shared.tracing import consumer_span

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 200  # held_records.message_key


@dataclass(frozen=True)
class HoldingSettings:
    """Environment prefix ``KETALINK_HELD_``. With the defaults a failing record blocks its partition for its two
    attempts in line and 0.5 s between them (with the EHR's client retrying a 500 three times within each attempt,
    about 5 s in the EHR engine), is then retried after 5, 10, 20, ... s up to 5 min apart, and is parked after 14
    failed attempts (about 35 min) or 24 h held, whichever comes first. An outage (``OutageError``: the EHR or
    another dependency not answering at all) counts toward neither: it is not this record's fault."""

    inline_attempts: int = 2  # failed attempts in line (the partition waits) before the record is held
    initial_delay_s: float = 5.0  # first retry of a held record after this long
    factor: float = 2.0  # each next retry waits this many times longer ...
    max_delay_s: float = 300.0  # ... but never longer than this
    max_attempts: int = 14  # failed attempts (in line and held) before the record is parked
    max_age_s: float = 86400.0  # a record held this long is parked at its next failure
    poll_interval_s: float = 1.0  # how often the retry worker looks for due records (and updates the gauge)

    def validate(self) -> None:
        if self.inline_attempts < 1:
            raise ValueError("inline_attempts must be at least 1")
        if self.max_attempts <= self.inline_attempts:
            raise ValueError("max_attempts must be more than inline_attempts (else nothing is ever retried held)")
        for name in ("initial_delay_s", "max_delay_s", "max_age_s", "poll_interval_s"):
            value = getattr(self, name)
            if not (value > 0 and value < float("inf")):
                raise ValueError(f"{name} must be a finite number above 0")
        if not (1.0 <= self.factor < float("inf")):
            raise ValueError("factor must be a finite number of at least 1")
        if self.max_delay_s < self.initial_delay_s:
            raise ValueError("max_delay_s must be at least initial_delay_s")


def retry_delay_s(settings: HoldingSettings, attempts: int) -> float:
    """How long a held record waits after its ``attempts``-th failed attempt (the in-line ones included)."""
    steps = max(attempts - settings.inline_attempts, 0)
    delay = settings.initial_delay_s
    for _ in range(steps):  # step by step: factor ** steps could overflow before the cap applies
        delay *= settings.factor
        if delay >= settings.max_delay_s:
            return settings.max_delay_s
    return delay


def next_attempt_at(settings: HoldingSettings, attempts: int, held_at: datetime, now: datetime) -> datetime | None:
    """When to try a record again after its ``attempts``-th failure, or None: give up (park it)."""
    if attempts >= settings.max_attempts or (now - aware(held_at)).total_seconds() >= settings.max_age_s:
        return None
    return now + timedelta(seconds=retry_delay_s(settings, attempts))


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def key_text(key: bytes | None) -> str | None:
    """The Kafka key as the table keeps it: the text of a patient id; a longer or binary key by its digest."""
    if key is None:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and len(text) <= MAX_KEY_LENGTH and "\x00" not in text:
        return text
    return "sha256:" + hashlib.sha256(key).hexdigest()


# Runs in the transaction that holds a record (the record's value; True when it is held behind its key's earlier
# records, untried): the EHR engine answers transient-error there, so the sender sees "the EHR is retrying".
HoldHook = Callable[["bytes | None", Connection, bool], None]


@dataclass(frozen=True)
class HeldKafkaRecord:
    """A held row as the Kafka record it was (what the processor and the dead-letter producer take)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class PartitionOwnership:
    """The partitions a consumer owns now, set by its rebalance listener, read by its retry worker (another thread)
    to claim held records by."""

    def __init__(self) -> None:
        self._partitions: frozenset[TopicPartition] = frozenset()
        self._lock = threading.Lock()

    def replace(self, partitions: set[TopicPartition]) -> None:
        with self._lock:
            self._partitions = frozenset(partitions)

    def partitions(self) -> set[TopicPartition]:
        with self._lock:
            return set(self._partitions)


class HoldStore:
    """The consumer's side of the table: is a key held, hold a record."""

    def __init__(self, engine: Engine, consumer: str, on_hold: HoldHook | None = None):
        self._engine = engine
        self._consumer = consumer
        self._on_hold = on_hold

    def any_held(self) -> bool:
        """Whether this consumer has any held record the retry worker has not finished with."""
        with self._engine.connect() as conn:
            return conn.execute(
                select(held_records.c.id).where(held_records.c.consumer == self._consumer,
                                                held_records.c.state.in_(ACTIVE_STATES)).limit(1)).first() is not None

    def key_is_held(self, topic: str, key: bytes | None) -> bool:
        if key is None:
            return False  # a record without a key keeps no order with any other
        with self._engine.connect() as conn:
            return conn.execute(
                select(held_records.c.id).where(held_records.c.consumer == self._consumer,
                                                held_records.c.source_topic == topic,
                                                held_records.c.message_key == key_text(key),
                                                held_records.c.state.in_(ACTIVE_STATES)).limit(1)).first() is not None

    def hold(self, record: Any, *, attempts: int, reason: str, settings: HoldingSettings | None) -> bool:
        """Hold ``record``: after its failures (``settings`` give its first retry) or, without ``settings``,
        behind its key's held records. False when it was held already (a redelivery after a crash between the hold
        and the offset commit): the unique source offset keeps it held once."""
        now = utcnow()
        state, due = (RETRYING, now + timedelta(seconds=retry_delay_s(settings, attempts))) if settings else (
            WAITING, None)
        headers = json.dumps([[name, base64.b64encode(value or b"").decode()] for name, value in record.headers or []])
        try:
            with self._engine.begin() as conn:
                conn.execute(held_records.insert().values(
                    consumer=self._consumer, source_topic=record.topic, source_partition=record.partition,
                    source_offset=record.offset, message_key=key_text(record.key), value=record.value,
                    headers=headers, state=state, attempts=attempts, reason=reason[:2000], held_at=now,
                    next_attempt_at=due))
                if self._on_hold is not None:
                    self._on_hold(record.value, conn, settings is None)
        except IntegrityError:
            self._check_redelivery(record)
            return False
        return True

    def _check_redelivery(self, record: Any) -> None:
        """A record at a held record's offset is its redelivery, unless the broker numbered a new record so (only the
        embedded broker, after a restart lost its log): that one is not held, and ops must hear of it."""
        with self._engine.connect() as conn:
            value = conn.execute(select(held_records.c.value).where(
                held_records.c.consumer == self._consumer, held_records.c.source_topic == record.topic,
                held_records.c.source_partition == record.partition,
                held_records.c.source_offset == record.offset)).scalar()
        if value != record.value:
            log.error("a different record at the offset of a held record was not held (the broker reused the "
                      "offset); it must be sent again", extra={"consumer": self._consumer, "topic": record.topic,
                                                               "partition": record.partition,
                                                               "offset": record.offset})


Process = Callable[[HeldKafkaRecord], str]
DeadLetter = Callable[[HeldKafkaRecord, str], None]


class HeldRecordRetrier:
    """The retry worker: a thread that re-attempts, key by key and in offset order, the held records of the
    partitions this process's consumer owns (``owned``), and keeps ``ketalink_held_records`` up to date.

    ``process`` processes one record as the consumer does (``MessageProcessor.process`` in its log and trace
    context); ``permanent`` is its error class of records that can
    never pass (dead-lettered at once, in the key's turn) and ``is_outage`` tells a failure of every record (retried
    without counting) from one of this record."""

    def __init__(self, engine: Engine, consumer: str, settings: HoldingSettings, process: Process,
                 dead_letter: DeadLetter, owned: Callable[[], set[TopicPartition]], *,
                 permanent: type[Exception], is_outage: Callable[[BaseException], bool]):
        self._engine = engine
        self._consumer = consumer
        self._settings = settings
        self._process = process
        self._dead_letter = dead_letter
        self._owned = owned
        self._permanent = permanent
        self._is_outage = is_outage
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_rows = engine.dialect.name == "postgresql"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self._consumer}-held", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as error:  # noqa: BLE001 - the worker must outlive a database that is briefly away
                log.warning("held record retry pass failed", extra={"consumer": self._consumer,
                                                                    "error": type(error).__name__})
            self._stop.wait(self._settings.poll_interval_s)

    def run_once(self) -> int:
        """One pass: update the gauge, then work through every due key of an owned partition. Returns the number
        of attempts made."""
        with self._engine.connect() as conn:
            rows = [as_held_record(row) for row in conn.execute(
                select(*COLUMNS).where(held_records.c.consumer == self._consumer,
                                       held_records.c.state.in_(ACTIVE_STATES))
                .order_by(held_records.c.source_topic, held_records.c.message_key, held_records.c.source_offset))]
        for state in ACTIVE_STATES:
            HELD_RECORDS.labels(self._consumer, state).set(sum(1 for row in rows if row.state == state))
        heads: dict[tuple[str, str], HeldRecord] = {}
        for row in rows:
            heads.setdefault((row.source_topic, row.message_key or f"id:{row.id}"), row)
        owned = self._owned()
        now = utcnow()
        attempts = 0
        for head in heads.values():
            if self._stop.is_set():
                break
            if TopicPartition(head.source_topic, head.source_partition) not in owned or head.state == PARKED:
                continue
            if head.state == WAITING or head.next_attempt_at is None or aware(head.next_attempt_at) <= now:
                attempts += self._work_key(head)
        return attempts

    def _work_key(self, head: HeldRecord) -> int:
        """Attempt the key's oldest held record and, while they succeed, the ones behind it."""
        attempts = 0
        current: HeldRecord | None = head
        while current is not None and not self._stop.is_set():
            if TopicPartition(current.source_topic, current.source_partition) not in self._owned():
                break  # the partition moved to another consumer: its new owner carries on
            attempts += 1
            current = self._attempt(current.id)
        return attempts

    def _attempt(self, held_id: int) -> HeldRecord | None:
        """Attempt one held record; returns the key's next held record when this one is finished with."""
        with self._engine.connect() as lock_conn:
            query = select(held_records).where(held_records.c.id == held_id,
                                               held_records.c.state.in_((RETRYING, WAITING)))
            if self._lock_rows:
                query = query.with_for_update(skip_locked=True)
            row = lock_conn.execute(query).first()
            if row is None:
                lock_conn.rollback()
                return None  # finished, parked or discarded meanwhile, or another replica is attempting it
            record = _as_kafka_record(row)
            held = as_held_record(row)
            finished = self._settle(lock_conn, held, record)
            lock_conn.commit()
        if not finished:
            return None
        with self._engine.begin() as conn:
            return _promote_next(conn, held)

    def _settle(self, conn: Connection, held: HeldRecord, record: HeldKafkaRecord) -> bool:
        """Process the record and record its outcome in the held row; True when it is finished with."""
        try:
            with record_log_context(record), consumer_span(record, self._consumer):  # its trace goes on when retried
                outcome = self._process(record)
        except Exception as error:  # noqa: BLE001 - every failure gets an outcome below
            if isinstance(error, self._permanent):
                self._dead_letter(record, str(error))
                outcome = "dead-lettered"
            else:
                self._reschedule(conn, held, error)
                return False
        conn.execute(held_records.delete().where(held_records.c.id == held.id))
        log.info("held message processed", extra={"consumer": self._consumer, "topic": held.source_topic,
                                                  "partition": held.source_partition, "offset": held.source_offset,
                                                  "held_id": held.id, "outcome": outcome})
        return True

    def _reschedule(self, conn: Connection, held: HeldRecord, error: Exception) -> None:
        now = utcnow()
        reason = f"{type(error).__name__}: {error}"[:2000]
        if self._is_outage(error):  # not this record's fault: try again later, without counting
            due = now + timedelta(seconds=retry_delay_s(self._settings, held.attempts))
            conn.execute(held_records.update().where(held_records.c.id == held.id)
                         .values(state=RETRYING, next_attempt_at=due, reason=reason))
            return
        attempts = held.attempts + 1
        due = next_attempt_at(self._settings, attempts, held.held_at, now)
        conn.execute(held_records.update().where(held_records.c.id == held.id).values(
            state=RETRYING if due else PARKED, attempts=attempts, next_attempt_at=due, reason=reason))
        extra = {"consumer": self._consumer, "topic": held.source_topic, "partition": held.source_partition,
                 "offset": held.source_offset, "held_id": held.id, "attempts": attempts,
                 "error": type(error).__name__}
        if due is None:
            log.error("held message parked: it keeps failing; its key's later messages wait until ops release or "
                      "discard it", extra=extra)
        else:
            log.warning("held message failed again; will retry", extra=extra | {"retry_at": due.isoformat()})


def _promote_next(conn: Connection, finished: HeldRecord) -> HeldRecord | None:
    """The key's next held record, now its oldest: due at once (it has waited its turn)."""
    following = key_head(conn, finished)  # ``finished`` itself when nothing of its key is held any more
    if following.id == finished.id:
        return None
    if following.state != WAITING:
        return None  # parked, or released and due: the pass picks it up
    conn.execute(held_records.update().where(held_records.c.id == following.id)
                 .values(state=RETRYING, next_attempt_at=utcnow()))
    return following


def _as_kafka_record(row: Any) -> HeldKafkaRecord:
    headers = [(name, base64.b64decode(value)) for name, value in json.loads(row.headers)]
    key = row.message_key.encode() if row.message_key is not None and not row.message_key.startswith(
        "sha256:") else None
    return HeldKafkaRecord(row.source_topic, row.source_partition, row.source_offset, key, row.value, headers)
