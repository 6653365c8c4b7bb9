"""Held records on PostgreSQL, as replicas share them: two retry workers that both believe they own the partition (a
rebalance's overlap) work the same held records at once, and each record is attempted once, each key in offset
order (each attempt holds the key's oldest row ``FOR UPDATE SKIP LOCKED``); ops' release and discard work there too.
The PostgreSQL cluster is the benchmark's throwaway one (``bench/postgres.py``)."""
from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import TopicPartition
from sqlalchemy.engine import Engine

from bench.postgres import Postgres, available
from shared.db import create_database
from shared.events import held
from shared.events.consumer import MessageProcessor, PermanentError, is_outage
from shared.events.holding import HeldKafkaRecord, HeldRecordRetrier, HoldingSettings, HoldStore
from shared.fhir.messaging import build_message

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not available(), reason="PostgreSQL (initdb, pg_ctl) is not installed")]
TOPIC = "ketalink.test.events"
CONSUMER = "test-held-pg"
SETTINGS = HoldingSettings(inline_attempts=2, initial_delay_s=5, max_delay_s=60, max_attempts=4)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    directory = Path(tempfile.mkdtemp(prefix="ketalink-held-pg-"))
    cluster = Postgres(directory / "cluster").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def engine(postgres: Postgres) -> Engine:
    return create_database(postgres.new_database())


class SlowHandler:
    """Takes a while per message (so two workers would overlap) and counts every call, thread-safely."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.applied: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, message, conn) -> None:
        marker = message.resources[0]["id"]
        with self._lock:
            self.calls[marker] += 1
        time.sleep(0.3)
        with self._lock:
            self.applied.append(marker)


def _process_with(processor: MessageProcessor):
    return lambda record: processor.process(record.topic, record.value)


def _record(offset: int, marker: str, key: str) -> HeldKafkaRecord:
    value = json.dumps(build_message("test-event", "urn:test", [{"resourceType": "Basic", "id": marker,
                                                                 "code": {"text": marker}}],
                                     with_provenance=False)).encode()
    return HeldKafkaRecord(TOPIC, 0, offset, key.encode(), value, [])


def _retrier(engine: Engine, handler: SlowHandler) -> HeldRecordRetrier:
    processor = MessageProcessor(engine, {"test-event": handler})
    return HeldRecordRetrier(engine, CONSUMER, SETTINGS, _process_with(processor),
                             lambda record, reason: None, lambda: {TopicPartition(TOPIC, 0)},
                             permanent=PermanentError, is_outage=is_outage)


def test_two_workers_at_once_attempt_each_held_record_once_and_each_key_in_order(engine: Engine):
    store = HoldStore(engine, CONSUMER)
    for key in ("patient-a", "patient-b"):
        base = 100 if key == "patient-a" else 200
        store.hold(_record(base, f"{key}-1", key), attempts=2, reason="x", settings=SETTINGS)
        for n in (2, 3):
            store.hold(_record(base + n, f"{key}-{n}", key), attempts=0, reason="behind", settings=None)
    with engine.begin() as conn:
        for record in held.list_held(conn):
            held.release(conn, record.id)

    handler = SlowHandler()
    workers = [_retrier(engine, handler), _retrier(engine, handler)]
    start = threading.Barrier(len(workers))

    def run(worker: HeldRecordRetrier) -> None:
        start.wait()
        for _ in range(5):  # a few passes each, as the threads would make
            worker.run_once()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert set(handler.calls.values()) == {1}, handler.calls  # no record attempted twice
    assert len(handler.calls) == 6
    for key in ("patient-a", "patient-b"):
        assert [m for m in handler.applied if m.startswith(key)] == [f"{key}-1", f"{key}-2", f"{key}-3"]
    with engine.connect() as conn:
        assert held.list_held(conn) == []


def test_release_and_discard_on_postgresql(engine: Engine):
    store = HoldStore(engine, CONSUMER)
    store.hold(_record(300, "first", "patient-c"), attempts=2, reason="x", settings=SETTINGS)
    store.hold(_record(301, "second", "patient-c"), attempts=0, reason="behind", settings=None)
    with engine.begin() as conn:
        first, second = held.list_held(conn)
        assert first.held_at.tzinfo is not None and first.next_attempt_at > first.held_at
        assert held.release(conn, second.id).state == "waiting"
        assert held.get_held(conn, first.id).state == "retrying"
        with pytest.raises(held.HeldRecordConflict):
            held.discard(conn, second.id)
        held.discard(conn, first.id)
        assert [r.state for r in held.list_held(conn)] == ["retrying"]
    handler = SlowHandler()
    assert _retrier(engine, handler).run_once() == 1
    assert handler.applied == ["second"]
