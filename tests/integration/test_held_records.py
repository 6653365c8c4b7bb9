"""Held records through the consumer loop against the real broker: a record that keeps failing is held after the
in-line budget and the partition moves on (another patient's record on the same partition is handled within
seconds, measured), while the same patient's later records wait behind it and follow in order once it succeeds;
after the limit it is parked, with the gauge, and not dead-lettered; a new loop (a worker restarted) takes over the
held records from the database and finishes them in order."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import Connection, Engine

from shared.db import create_database
from shared.events import held
from shared.events.consumer import ConsumerLoop, ConsumerPolicy, MessageProcessor, TransientError
from shared.events.holding import HoldingSettings, HoldStore
from shared.events.kafka_clients import KafkaSettings, create_consumer, create_producer, ensure_topics
from shared.fhir.messaging import Message, build_message
from tests.support.kafka_tools import publish, read_all, wait_for

pytestmark = pytest.mark.integration
POLICY = ConsumerPolicy(initial_backoff_s=0.05, max_backoff_s=0.1)
# Held retries 1 s, 2 s, then 3 s apart; parked after 6 failed attempts (3 in line, 3 held), about 6 s after holding.
HOLDING = HoldingSettings(inline_attempts=3, initial_delay_s=1.0, factor=2.0, max_delay_s=3.0, max_attempts=6,
                          poll_interval_s=0.2)


class PoisonHandler:
    """Fails every message whose marker is in ``poison`` (``error``) and records the markers it applied, with when."""

    def __init__(self, poison: set[str], error: type[Exception] = TransientError):
        self.poison = poison
        self.error = error
        self.applied: list[str] = []
        self.applied_at: dict[str, float] = {}
        self.failures = 0

    def __call__(self, message: Message, conn: Connection) -> None:
        marker = message.resources[0]["id"]
        if marker in self.poison:
            self.failures += 1
            raise self.error("the EHR failed the transaction: HTTP 500")
        self.applied.append(marker)
        self.applied_at[marker] = time.monotonic()


class Loops:
    """Starts consumer loops on one test topic of a single partition (every key shares it), with one store."""

    def __init__(self, broker, tmp_path: Path):
        self.topic = f"test.held.{uuid.uuid4().hex[:8]}"
        self.group = f"test-held-{uuid.uuid4().hex[:8]}"
        self.settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000,
                                      heartbeat_interval_ms=1000, topic_partitions=1)
        ensure_topics(self.settings, [self.topic, self.topic + ".dlq"])
        self.engine: Engine = create_database(f"sqlite:///{tmp_path / 'held.db'}")
        self.running: list[ConsumerLoop] = []

    def start(self, handler: PoisonHandler) -> ConsumerLoop:
        processor = MessageProcessor(self.engine, {"test-event": handler})
        loop = ConsumerLoop(processor, lambda: create_consumer(self.settings, self.group, [self.topic], self.group),
                            lambda: create_producer(self.settings, self.group), POLICY, name=self.group,
                            holding=HOLDING)
        loop.start()
        self.running.append(loop)
        return loop

    def held(self) -> list[held.HeldRecord]:
        with self.engine.connect() as conn:
            return held.list_held(conn, self.group)


@pytest.fixture
def loops(broker, tmp_path: Path) -> Iterator[Loops]:
    made = Loops(broker, tmp_path)
    yield made
    for loop in made.running:
        loop.stop()


def _message(marker: str) -> dict:
    return build_message("test-event", "urn:test", [{"resourceType": "Basic", "id": marker,
                                                     "code": {"text": marker}}], with_provenance=False)


def _send(broker, loops: Loops, marker: str, patient: str) -> float:
    """Publish; returns when it started (publish waits for the broker's acknowledgement)."""
    started = time.monotonic()
    publish(broker.bootstrap, loops.topic, _message(marker), key=patient)
    return started


def _gauge(group: str, state: str) -> float:
    return REGISTRY.get_sample_value("ketalink_held_records", {"consumer": group, "state": state}) or 0.0


def _explain(loops: Loops, handler: PoisonHandler) -> Callable[[], str]:
    """What the loop did, for a wait that timed out."""
    return lambda: (f"held: {[(r.source_offset, r.message_key, r.state, r.attempts) for r in loops.held()]}; "
                    f"applied: {handler.applied}; failures: {handler.failures}")


def _states(loops: Loops) -> Callable[[], list[tuple[int, str]]]:
    return lambda: [(r.source_offset, r.state) for r in loops.held()]


def test_a_poison_record_is_held_so_another_patients_record_moves_on_and_its_own_wait_in_order(broker, loops):
    handler = PoisonHandler({"a-poison"})
    loop = loops.start(handler)
    wait_for(loop.assigned.is_set, timeout_s=30, what="the loop in its group",
             explain=_explain(loops, handler))  # measure the hold, not the join
    poison_sent = _send(broker, loops, "a-poison", "patient-a")
    _send(broker, loops, "a-later", "patient-a")
    other_sent = _send(broker, loops, "b-first", "patient-b")  # same partition, after both of patient A's

    wait_for(lambda: "b-first" in handler.applied, timeout_s=30, what="the other patient's record applied",
             explain=_explain(loops, handler))
    other_delay_s = handler.applied_at["b-first"] - other_sent
    print(f"other patient's record applied {other_delay_s:.2f} s after it was published, "
          f"{handler.applied_at['b-first'] - poison_sent:.2f} s after the poison record")
    assert other_delay_s < 10.0  # the poison's 3 in-line attempts (~0.15 s of backoff) and a poll, not its retries
    [poison, later] = loops.held()
    assert (poison.message_key, poison.state, later.message_key, later.state) == (
        "patient-a", "retrying", "patient-a", "waiting")
    assert poison.source_offset < later.source_offset and poison.reason.startswith("TransientError")
    assert "a-later" not in handler.applied

    failures = handler.failures
    wait_for(lambda: handler.failures > failures, timeout_s=30, what="the held record retried",
             explain=_explain(loops, handler))
    _send(broker, loops, "a-third", "patient-a")  # arrives while the key is held: it joins the queue behind
    wait_for(lambda: len(loops.held()) == 3, timeout_s=30, what="the patient's third record held behind",
             explain=_explain(loops, handler))
    assert "a-later" not in handler.applied and "a-third" not in handler.applied

    handler.poison.clear()  # the EHR is fixed: the next retry succeeds and the patient's records follow in order
    wait_for(lambda: "a-third" in handler.applied, timeout_s=30, what="the patient's records applied",
             explain=_explain(loops, handler))
    assert handler.applied == ["b-first", "a-poison", "a-later", "a-third"]
    # the handler notes a record applied before the loop commits the held row's removal with it: wait for that
    wait_for(lambda: loops.held() == [], timeout_s=10, what="the held rows removed", explain=_explain(loops, handler))
    _send(broker, loops, "a-fourth", "patient-a")  # the key is free: straight through
    wait_for(lambda: "a-fourth" in handler.applied, timeout_s=30, what="the key's next record applied in line",
             explain=_explain(loops, handler))
    assert read_all(broker.bootstrap, loops.topic + ".dlq") == []


def test_after_the_limit_a_record_is_parked_with_the_gauge_and_not_dead_lettered(broker, loops):
    handler = PoisonHandler({"a-poison"}, error=RuntimeError)  # a bug, not an outage: held too, then parked
    loops.start(handler)
    _send(broker, loops, "a-poison", "patient-a")
    _send(broker, loops, "a-later", "patient-a")
    wait_for(lambda: _states(loops)() and _states(loops)()[0][1] == "parked", timeout_s=60,
             what="the poison record parked")
    wait_for(lambda: _gauge(loops.group, "parked") == 1, timeout_s=10, what="the parked gauge",
             explain=_explain(loops, handler))
    assert _gauge(loops.group, "waiting") == 1
    assert handler.failures == HOLDING.max_attempts
    time.sleep(2 * HOLDING.max_delay_s)
    assert handler.failures == HOLDING.max_attempts  # parked stays parked: no more attempts
    assert handler.applied == [] and read_all(broker.bootstrap, loops.topic + ".dlq") == []

    [poison, later] = loops.held()
    with loops.engine.begin() as conn:
        held.discard(conn, poison.id)  # ops set it aside: the patient's next record proceeds
    wait_for(lambda: "a-later" in handler.applied, timeout_s=30, what="the record behind the discarded one applied",
             explain=_explain(loops, handler))
    wait_for(lambda: _gauge(loops.group, "parked") == 0, timeout_s=10, what="the gauge back to 0",
             explain=_explain(loops, handler))


def test_a_restarted_worker_takes_the_held_records_over_and_finishes_them_in_order(broker, loops):
    handler = PoisonHandler({"a-poison"})
    first = loops.start(handler)
    _send(broker, loops, "a-poison", "patient-a")
    _send(broker, loops, "a-later", "patient-a")
    wait_for(lambda: len(loops.held()) == 2, timeout_s=30, what="both records held",
             explain=_explain(loops, handler))
    first.stop()
    loops.running.remove(first)

    restarted = PoisonHandler(set())
    loops.start(restarted)  # a new process: same group, same database, nothing in memory
    wait_for(lambda: restarted.applied == ["a-poison", "a-later"], timeout_s=60,
             what="the restarted worker applied the held records in order")
    wait_for(lambda: loops.held() == [], timeout_s=10, what="the held rows removed",
             explain=_explain(loops, restarted))
    assert handler.applied == []


def test_a_worker_that_died_between_holding_a_record_and_committing_it_holds_it_once(broker, loops, caplog):
    """The previous worker held the poison record and died before committing its offset: the record comes again,
    finds itself held (the table is unique on its source offset) and is not held twice; the key's later record waits
    behind it, and each is applied once, in order."""
    publish(broker.bootstrap, loops.topic, _message("a-first"), key="patient-a")
    publish(broker.bootstrap, loops.topic, _message("a-second"), key="patient-a")
    delivered = wait_for(lambda: read_all(broker.bootstrap, loops.topic) if len(
        read_all(broker.bootstrap, loops.topic)) == 2 else None, timeout_s=30, what="both records on the topic")
    died = HoldStore(loops.engine, loops.group)  # what the dead worker wrote before its commit
    assert died.hold(delivered[0], attempts=HOLDING.inline_attempts, reason="TransientError: x", settings=HOLDING)

    handler = PoisonHandler(set())
    with caplog.at_level(logging.ERROR, logger="shared.events.holding"):
        loops.start(handler)
        wait_for(lambda: handler.applied == ["a-first", "a-second"], timeout_s=60,
                 what="both applied once, in order", explain=_explain(loops, handler))
    assert loops.held() == []
    assert not [r for r in caplog.records if "reused" in r.getMessage()]  # taken for the redelivery it is
    time.sleep(2 * HOLDING.poll_interval_s)
    assert handler.applied == ["a-first", "a-second"]
