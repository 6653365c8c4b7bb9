"""The consumer loop against the real broker: a TransientError (EHR down) is retried for as long as it lasts, past
the attempt limit, and the record is then processed once; an unexpected error is retried up to the limit and then
dead-lettered with the reason. Either way the records after it on the partition wait their turn."""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer
from sqlalchemy.engine import Connection, Engine

from shared.db import create_database, processed_messages
from shared.events.consumer import ConsumerLoop, ConsumerPolicy, MessageProcessor, TransientError
from shared.events.kafka_clients import KafkaSettings, create_consumer, create_producer, ensure_topics
from shared.fhir.messaging import Message, build_message
from tests.support.kafka_tools import publish, read_all, wait_for

pytestmark = pytest.mark.integration
POLICY = ConsumerPolicy(max_attempts=3, initial_backoff_s=0.05, max_backoff_s=0.1)


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
                            lambda: create_producer(settings, group), POLICY, name=group)
        loop.start()
        loops.append(loop)
        return engine

    yield start
    for loop in loops:
        loop.stop()


def _message(marker: str) -> dict:
    return build_message("test-event", "urn:test", [{"resourceType": "Basic", "id": marker,
                                                     "code": {"text": marker}}], with_provenance=False)


def test_a_transient_failure_is_retried_past_the_attempt_limit_and_then_processed_once(broker, run_loop):
    topic = f"test.loop.{uuid.uuid4().hex[:8]}"
    handler = FlakyHandler(failures=POLICY.max_attempts + 3, error=TransientError)
    engine = run_loop(handler, topic)
    first, second = _message("first"), _message("second")
    publish(broker.bootstrap, topic, first, key="p")
    publish(broker.bootstrap, topic, second, key="p")

    wait_for(lambda: len(handler.handled) == 2, timeout_s=60, what="both messages handled")
    first_id, second_id = (m["entry"][0]["resource"]["id"] for m in (first, second))
    assert handler.handled == [first_id, second_id]  # the second waited for the first
    assert handler.calls[first_id] == POLICY.max_attempts + 4
    assert read_all(broker.bootstrap, topic + ".dlq") == []
    with engine.connect() as conn:
        assert len(conn.execute(processed_messages.select()).fetchall()) == 2


def test_an_unexpected_error_is_dead_lettered_with_its_reason_after_the_attempt_limit(broker, run_loop):
    topic = f"test.loop.{uuid.uuid4().hex[:8]}"
    handler = FlakyHandler(failures=10 ** 6, error=RuntimeError)
    run_loop(handler, topic)
    message = _message("doomed")
    publish(broker.bootstrap, topic, message, key="p")

    [dead] = wait_for(lambda: read_all(broker.bootstrap, topic + ".dlq"), timeout_s=60,
                      what="the message dead-lettered")
    message_id = message["entry"][0]["resource"]["id"]
    assert handler.calls[message_id] == POLICY.max_attempts
    headers = dict(dead.headers)
    assert headers["dlq-reason"] == (f"gave up after {POLICY.max_attempts} attempts: RuntimeError: the EHR is not "
                                     "answering").encode()
    assert headers["dlq-source-topic"] == topic.encode()
    assert handler.handled == []



class JoinNeverCompletes(KafkaConsumer):
    """A stand-in for the stuck state seen on Tansu after a restart, which cannot be brought about on demand: a real
    consumer of the real broker whose poll never completes a group join (it waits and returns nothing)."""

    def poll(self, timeout_ms: int = 0, **_: Any) -> dict:  # type: ignore[override]
        time.sleep(timeout_ms / 1000)
        return {}


def test_a_consumer_whose_group_join_never_completes_is_replaced(broker, tmp_path):
    """A consumer whose group join has not completed after ``rejoin_after_s`` is closed and made anew; the new one
    joins and processes what waited."""
    topic = f"test.loop.{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    ensure_topics(settings, [topic, topic + ".dlq"])
    handler = FlakyHandler(failures=0, error=RuntimeError)
    processor = MessageProcessor(create_database(f"sqlite:///{tmp_path / 'stall.db'}"), {"test-event": handler})
    group = f"test-stall-{uuid.uuid4().hex[:8]}"
    made: list[KafkaConsumer] = []

    def consumer_factory() -> KafkaConsumer:
        if not made:
            consumer: KafkaConsumer = JoinNeverCompletes(topic, bootstrap_servers=[broker.bootstrap], group_id=group,
                                                         enable_auto_commit=False)
        else:
            consumer = create_consumer(settings, group, [topic], group)
        made.append(consumer)
        return consumer

    loop = ConsumerLoop(processor, consumer_factory, lambda: create_producer(settings, group),
                        ConsumerPolicy(rejoin_after_s=10.0), name=group)
    publish(broker.bootstrap, topic, _message("waited"), key="p")
    started = time.monotonic()
    loop.start()
    try:
        wait_for(lambda: handler.handled, timeout_s=60, what="the message handled by the replacement consumer")
    finally:
        loop.stop()
    assert isinstance(made[0], JoinNeverCompletes) and len(made) == 2
    assert time.monotonic() - started >= 10.0  # replaced by the watchdog, not by a failure
