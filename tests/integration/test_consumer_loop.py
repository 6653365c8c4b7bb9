"""The consumer loop against the real broker: an OutageError (EHR down) is retried in line for as long as it lasts,
past the in-line budget, and the record is then processed once, the records after it on the partition waiting their
turn (a record that keeps failing for any other reason is held instead: tests/integration/test_held_records.py). And
a consumer closed in the middle of its group join leaves the group usable for the next member."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from kafka.structs import MemberState
from sqlalchemy.engine import Connection, Engine

from shared.db import create_database, held_records, processed_messages
from shared.events.consumer import ConsumerLoop, ConsumerPolicy, MessageProcessor, OutageError
from shared.events.holding import HoldingSettings
from shared.events.kafka_clients import (KafkaSettings, close_consumer, create_consumer, create_producer,
                                         ensure_topics)
from shared.fhir.messaging import Message, build_message
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.processes import tansu_broker

pytestmark = pytest.mark.integration
POLICY = ConsumerPolicy(initial_backoff_s=0.05, max_backoff_s=0.1)
HOLDING = HoldingSettings(inline_attempts=3, initial_delay_s=0.2, max_delay_s=0.5, max_attempts=6,
                          poll_interval_s=0.1)


class FlakyHandler:
    """Fails the first ``failures`` calls for each message with ``error``, then succeeds; counts every call."""

    def __init__(self, failures: int, error: type[Exception]):
        self.failures = failures
        self.error = error
        self.calls: dict[str, int] = {}
        self.handled: list[str] = []

    def __call__(self, message: Message, conn: Connection) -> None:
        calls = self.calls[message.message_id] = self.calls.get(message.message_id, 0) + 1
        if calls <= self.failures:
            raise self.error("the EHR is not answering")
        self.handled.append(message.message_id)


@pytest.fixture
def run_loop(broker, tmp_path: Path) -> Iterator[Callable[[FlakyHandler, str], Engine]]:
    """Start a loop on ``topic`` with its own group and store; returns the store. Stopped after the test."""
    loops: list[ConsumerLoop] = []

    def start(handler: FlakyHandler, topic: str) -> Engine:
        settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000,
                                 heartbeat_interval_ms=1000)
        ensure_topics(settings, [topic, topic + ".dlq"])
        engine = create_database(f"sqlite:///{tmp_path / 'loop.db'}")
        processor = MessageProcessor(engine, {"test-event": handler})
        group = f"test-loop-{uuid.uuid4().hex[:8]}"
        loop = ConsumerLoop(processor, lambda: create_consumer(settings, group, [topic], group),
                            lambda: create_producer(settings, group), POLICY, name=group, holding=HOLDING)
        loop.start()
        loops.append(loop)
        return engine

    yield start
    for loop in loops:
        loop.stop()


def _message(marker: str) -> dict:
    return build_message("test-event", "urn:test", [{"resourceType": "Basic", "id": marker,
                                                     "code": {"text": marker}}], with_provenance=False)


def _message_id(message: dict) -> str:
    return message["entry"][0]["resource"]["id"]


def test_an_outage_is_retried_in_line_past_the_attempt_limit_and_then_processed_once(broker, run_loop):
    topic = f"test.loop.{uuid.uuid4().hex[:8]}"
    handler = FlakyHandler(failures=HOLDING.max_attempts + 3, error=OutageError)
    engine = run_loop(handler, topic)
    first, second = _message("first"), _message("second")
    publish(broker.bootstrap, topic, first, key="p")
    publish(broker.bootstrap, topic, second, key="p")

    wait_for(lambda: len(handler.handled) == 2, timeout_s=60, what="both messages handled")
    first_id, second_id = (m["entry"][0]["resource"]["id"] for m in (first, second))
    assert handler.handled == [first_id, second_id]  # the second waited for the first
    assert handler.calls[first_id] == HOLDING.max_attempts + 4  # never held, never parked: an outage is no one's fault
    assert read_all(broker.bootstrap, topic + ".dlq") == []
    with engine.connect() as conn:
        assert len(conn.execute(processed_messages.select()).fetchall()) == 2
        assert conn.execute(held_records.select()).fetchall() == []


def test_a_consumer_closed_during_its_group_join_leaves_the_group_joinable(broker):
    """A LeaveGroup sent while the broker holds the member's JoinGroup left Tansu's group with a leader that is gone:
    every later member waited for an assignment for as long as the broker ran (the fault tests' stall after a
    restart). ``close_consumer`` sends no LeaveGroup then; the next member is assigned once the broker has expired
    the half-joined one (its session timeout). With ``consumer.close()`` instead this waits forever on Tansu."""
    topic = f"test.loop.{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    ensure_topics(settings, [topic])
    group = f"test-join-{uuid.uuid4().hex[:8]}"
    half_joined = create_consumer(settings, group, [topic], group)
    half_joined.poll(timeout_ms=50)  # sends the JoinGroup; Tansu holds it for half the session timeout
    if half_joined._coordinator.state is MemberState.STABLE:
        half_joined.close()
        pytest.skip("this broker completed the join before it could be closed mid-join")
    close_consumer(half_joined)

    successor = create_consumer(settings, group, [topic], group)
    try:
        def assigned() -> bool:
            successor.poll(timeout_ms=200)
            return bool(successor.assignment())

        wait_for(assigned, timeout_s=30, interval_s=0.0, what="the next member of the group assigned partitions")
    finally:
        close_consumer(successor)


def test_after_the_broker_lost_its_records_the_loop_reads_the_recreated_topic_from_its_start(log_dir, tmp_path):
    """The embedded broker keeps nothing over a restart: topics come back empty, committed offsets are gone. A
    consumer that had read 5 records must then read the recreated topic from its first record, not from offset 5:
    kafka-python keeps a partition's position across the rebalance that follows, so when the new topic already held
    more records than that when the consumer fetched again, the first ones were skipped (the fault tests lost vitals
    so). The 8 records are published at once, as the services' outboxes send what waited during the outage.
    Apache Kafka keeps its log, so this runs on a broker of its own, the embedded one, under either test broker."""
    logs = log_dir / "lost-records"
    logs.mkdir(exist_ok=True)
    broker, bootstrap = tansu_broker(logs)
    broker.start()
    loop: ConsumerLoop | None = None
    try:
        topic = f"test.loop.{uuid.uuid4().hex[:8]}"
        # The broker's default partition count, so the topic has the same partitions whoever recreates it first,
        # and every record has the same key: the records before and after the restart share a partition.
        settings = KafkaSettings(bootstrap_servers=bootstrap, session_timeout_ms=2000, heartbeat_interval_ms=500)
        ensure_topics(settings, [topic, topic + ".dlq"])
        handler = FlakyHandler(failures=0, error=RuntimeError)
        processor = MessageProcessor(create_database(f"sqlite:///{tmp_path / 'lost.db'}"), {"test-event": handler})
        group = f"test-lost-{uuid.uuid4().hex[:8]}"
        loop = ConsumerLoop(processor, lambda: create_consumer(settings, group, [topic], group),
                            lambda: create_producer(settings, group), POLICY, name=group, holding=HOLDING)
        loop.start()
        before = [_message(f"before-{n}") for n in range(5)]
        for message in before:
            publish(bootstrap, topic, message, key="p")
        wait_for(lambda: len(handler.handled) == 5, timeout_s=30, what="the records before the restart handled")

        def assignments() -> float:
            return REGISTRY.get_sample_value("ketalink_consumer_assignments_total", {"consumer": group}) or 0.0

        assigned_before = assignments()
        broker.stop()
        broker.start()
        ensure_topics(settings, [topic, topic + ".dlq"])
        # The consumer joins the restarted broker's group before anything is published there (and has fetched at
        # its position since), as the engine had in the fault test when the outboxes' backlog arrived.
        wait_for(lambda: assignments() > assigned_before, timeout_s=30,
                 what="the consumer's group rebalanced on the restarted broker")
        time.sleep(1.0)
        after = [_message(f"after-{n}") for n in range(8)]
        producer = KafkaProducer(bootstrap_servers=[bootstrap], linger_ms=50)
        for message in after:
            producer.send(topic, value=json.dumps(message).encode(), key=b"p")
        producer.flush(timeout=30)
        producer.close()
        after_ids = {_message_id(m) for m in after}
        wait_for(lambda: after_ids <= set(handler.handled), timeout_s=30,
                 what="the 8 records of the recreated topic handled (the first 5 sit below the old position)")
        names = {_message_id(m): m["entry"][1]["resource"]["id"] for m in before + after}
        assert [names[h] for h in handler.handled] == [names[_message_id(m)] for m in before + after]
    finally:
        if loop is not None:
            loop.stop()
        broker.stop()
