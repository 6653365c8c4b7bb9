"""The consumer loop with ``BatchHandlers`` against the real broker: a poll's records of one partition are applied a
batch at a time (one transaction, one offset commit), each once and in offset order; a record that cannot be applied
(a poison one, one failing for a while) is handled alone while its neighbours are applied once; and a crash between
a batch's commit and its offset commit redelivers the batch as duplicates, nothing applied twice."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, event
from sqlalchemy.engine import Connection, Engine

from shared.db import create_database, processed_messages
from shared.events.consumer import BatchHandlers, ConsumerLoop, ConsumerPolicy, MessageProcessor, TransientError
from shared.events.holding import HoldingSettings
from shared.events.kafka_clients import KafkaSettings, create_consumer, create_producer, ensure_topics
from shared.fhir.messaging import Message, build_message
from tests.support.kafka_tools import read_all, wait_for

pytestmark = pytest.mark.integration
POLICY = ConsumerPolicy(initial_backoff_s=0.05, max_backoff_s=0.1)
HOLDING = HoldingSettings(inline_attempts=3, initial_delay_s=0.2, max_delay_s=0.5, max_attempts=6,
                          poll_interval_s=0.1)
BATCH = 4

test_tables = MetaData()
applied = Table("applied_in_test", test_tables, Column("n", Integer, nullable=False),
                Column("message_id", String(64), nullable=False))  # no key: a record applied twice shows twice


class Recorder:
    """Applies a record by inserting its number; ``fail_first`` maps a number to how many first tries fail."""

    def __init__(self, fail_first: dict[int, int] | None = None):
        self.fail_first = dict(fail_first or {})
        self.tries: dict[int, int] = {}

    def __call__(self, message: Message, conn: Connection) -> None:
        n = int(message.resources[0]["id"].split("-")[1])
        self.tries[n] = self.tries.get(n, 0) + 1
        if self.tries[n] <= self.fail_first.get(n, 0):
            raise TransientError(f"record {n} not yet")
        conn.execute(applied.insert().values(n=n, message_id=message.message_id))


def _message(n: int) -> bytes:
    import json

    return json.dumps(build_message("test-event", "urn:test", [{"resourceType": "Basic", "id": f"rec-{n}",
                                                                "code": {"text": "test"}}],
                                    with_provenance=False)).encode()


def _publish(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Every record under one key (one partition, so one order), all sent before the loop starts: its first poll
    brings them together."""
    producer = KafkaProducer(bootstrap_servers=[bootstrap])
    for value in values:
        producer.send(topic, value=value, key=b"patient-1")
    producer.flush(timeout=30)
    producer.close()


class CommitFailsOnce:
    """A consumer whose first offset commit raises, as a crash between a batch's commit and its offset commit."""

    def __init__(self) -> None:
        self.failed = threading.Event()

    def wrap(self, consumer: KafkaConsumer) -> KafkaConsumer:
        commit = consumer.commit

        def failing_commit(*args: Any, **kwargs: Any) -> Any:
            if not self.failed.is_set():
                self.failed.set()
                raise RuntimeError("the process died before the offset commit")
            return commit(*args, **kwargs)

        consumer.commit = failing_commit  # type: ignore[method-assign]
        return consumer


@pytest.fixture
def run_loop(broker, tmp_path: Path) -> Iterator[Callable[..., tuple[Engine, list[int]]]]:
    """Start a batching loop on ``topic`` with its own group and store; returns the store and a list that counts its
    commits. Stopped after the test."""
    loops: list[ConsumerLoop] = []

    def start(handler: Recorder, topic: str, wrap: Callable[[KafkaConsumer], KafkaConsumer] = lambda c: c
              ) -> tuple[Engine, list[int]]:
        settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
        engine = create_database(f"sqlite:///{tmp_path / 'loop.db'}")
        test_tables.create_all(engine)
        commits: list[int] = []
        event.listen(engine, "commit", lambda _conn: commits.append(1))
        processor = MessageProcessor(engine, BatchHandlers({"test-event": handler}, BATCH))
        group = f"test-batch-{uuid.uuid4().hex[:8]}"
        loop = ConsumerLoop(processor, lambda: wrap(create_consumer(settings, group, [topic], group)),
                            lambda: create_producer(settings, group), POLICY, name=group, holding=HOLDING)
        loop.start()
        loops.append(loop)
        return engine, commits

    yield start
    for loop in loops:
        loop.stop()


def _new_topic(broker) -> str:
    topic = f"test.batch.{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap), [topic, topic + ".dlq"])
    return topic


def _applied(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row.n for row in conn.execute(applied.select().order_by(applied.c.n))]


def _applied_in_order(engine: Engine) -> list[int]:
    with engine.connect() as conn:  # SQLite's rowid: the order the rows were written in
        return [row[0] for row in conn.exec_driver_sql("SELECT n FROM applied_in_test ORDER BY rowid")]


def _processed(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(processed_messages.select()).fetchall())


def test_a_polls_records_are_applied_a_batch_at_a_time_each_once_in_order(broker, run_loop):
    topic = _new_topic(broker)
    _publish(broker.bootstrap, topic, [_message(n) for n in range(12)])
    engine, commits = run_loop(Recorder(), topic)

    wait_for(lambda: len(_applied(engine)) == 12, timeout_s=60, what="every record applied")
    assert _applied_in_order(engine) == list(range(12))
    assert _processed(engine) == 12
    # 12 records in batches of 4: 3 transactions when one poll brought them all, never one per record
    assert len(commits) <= 12 // 2


def test_a_poison_record_in_a_batch_is_dead_lettered_alone_and_its_neighbours_are_applied_once(broker, run_loop):
    topic = _new_topic(broker)
    values = [_message(n) for n in range(6)]
    values.insert(3, b"not json at all")
    _publish(broker.bootstrap, topic, values)
    engine, _ = run_loop(Recorder(), topic)

    wait_for(lambda: len(_applied(engine)) == 6, timeout_s=60, what="the neighbours applied")
    wait_for(lambda: read_all(broker.bootstrap, topic + ".dlq"), timeout_s=30, what="the poison record dead-lettered")
    dead = read_all(broker.bootstrap, topic + ".dlq")
    assert [record.value for record in dead] == [b"not json at all"]
    assert dict(dead[0].headers)["dlq-source-offset"] == b"3"
    assert _applied_in_order(engine) == list(range(6))  # nothing doubled by the batch rolled back, order kept
    assert _processed(engine) == 6


def test_a_record_that_fails_for_a_while_is_retried_alone_and_every_record_is_applied_once(broker, run_loop):
    topic = _new_topic(broker)
    _publish(broker.bootstrap, topic, [_message(n) for n in range(8)])
    handler = Recorder(fail_first={5: 2})  # fails in its batch, then once alone, then passes (under inline_attempts)
    engine, _ = run_loop(handler, topic)

    wait_for(lambda: len(_applied(engine)) == 8, timeout_s=60, what="every record applied")
    assert _applied_in_order(engine) == list(range(8))
    assert handler.tries[5] == 3
    assert read_all(broker.bootstrap, topic + ".dlq") == []


def test_a_crash_before_the_offset_commit_redelivers_the_batch_and_applies_nothing_twice(broker, run_loop):
    topic = _new_topic(broker)
    _publish(broker.bootstrap, topic, [_message(n) for n in range(BATCH)])
    crash = CommitFailsOnce()
    handler = Recorder()
    engine, _ = run_loop(handler, topic, crash.wrap)

    def outcomes(outcome: str) -> float:
        return REGISTRY.get_sample_value("ketalink_messages_consumed_total",
                                         {"topic": topic, "outcome": outcome}) or 0.0

    wait_for(crash.failed.is_set, timeout_s=60, what="the first offset commit")
    wait_for(lambda: outcomes("duplicate") == BATCH, timeout_s=60,
             what="the batch delivered again to the rebuilt consumer, every record a duplicate")
    assert _applied_in_order(engine) == list(range(BATCH))  # applied by the first delivery, once
    assert all(handler.tries[n] == 1 for n in range(BATCH))  # a duplicate never reaches the handler
    assert _processed(engine) == BATCH
    assert outcomes("done") == 0  # an outcome is counted after its offset commit: the crashed delivery's never was


def test_a_batch_size_outside_its_bounds_is_refused():
    for size in (0, 501):
        with pytest.raises(ValueError, match="batch_records"):
            BatchHandlers({}, size)
