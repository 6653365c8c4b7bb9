"""Held records on a real SQLite store with the real MessageProcessor: the retry worker's pass takes each key's
oldest held record, then the ones behind it in offset order; a failure reschedules (an outage without counting),
the limit parks it with the gauge and an ids-only log line; a permanent error is dead-lettered in its key's turn;
only partitions this process owns are worked; ops' release and discard (shared/events/held.py). Kafka does not run
in unit tests: dead-letters go to a list (the consumer-loop integration tests use the real topic)."""
import json
import logging
from datetime import timedelta

import pytest
from kafka import TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import select

from shared.db import create_database, held_records, processed_messages
from shared.events import held
from shared.events.consumer import MessageProcessor, OutageError, PermanentError, TransientError, is_outage
from shared.events.holding import HeldKafkaRecord, HeldRecordRetrier, HoldingSettings, HoldStore
from shared.fhir.messaging import build_message

TOPIC = "ketalink.test.events"
CONSUMER = "test-held"
SETTINGS = HoldingSettings(inline_attempts=2, initial_delay_s=5, factor=2, max_delay_s=60, max_attempts=4)


class Handler:
    """Fails the messages named in ``failing`` with ``error``; records the markers it applied, in order."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.error: type[Exception] = TransientError
        self.applied: list[str] = []

    def __call__(self, message, conn) -> None:
        marker = message.resources[0]["id"]
        if marker in self.failing:
            raise self.error(f"the EHR failed {marker}'s transaction")
        self.applied.append(marker)


@pytest.fixture
def world(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'held.db'}")
    handler = Handler()
    dead_letters: list[tuple[int, str]] = []  # stands in for the dead-letter topic
    owned = {TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)}
    processor = MessageProcessor(engine, {"test-event": handler})
    retrier = HeldRecordRetrier(engine, CONSUMER, SETTINGS, _process_with(processor),
                                lambda record, reason: dead_letters.append((record.offset, reason)), lambda: owned,
                                permanent=PermanentError, is_outage=is_outage)
    return engine, handler, retrier, dead_letters, owned, HoldStore(engine, CONSUMER)


def _process_with(processor: MessageProcessor):
    return lambda record: processor.process(record.topic, record.value)


def _record(offset: int, marker: str, key: str = "patient-a", partition: int = 0, value: bytes | None = None):
    body = value if value is not None else json.dumps(build_message(
        "test-event", "urn:test", [{"resourceType": "Basic", "id": marker, "code": {"text": marker}}],
        with_provenance=False)).encode()
    return HeldKafkaRecord(TOPIC, partition, offset, key.encode(), body, [("traceparent", b"00-abc")])


def _rows(engine):
    with engine.connect() as conn:
        return held.list_held(conn)


def _release_all(engine):
    with engine.begin() as conn:
        for record in held.list_held(conn):
            held.release(conn, record.id)


def _gauge(state: str) -> float:
    return REGISTRY.get_sample_value("ketalink_held_records", {"consumer": CONSUMER, "state": state})


def test_a_held_key_is_worked_in_offset_order_once_its_oldest_record_succeeds(world):
    engine, handler, retrier, _dead, _owned, store = world
    handler.failing = {"first"}
    assert store.hold(_record(10, "first"), attempts=2, reason="TransientError: x", settings=SETTINGS)
    assert store.hold(_record(11, "second"), attempts=0, reason="behind", settings=None)
    assert store.hold(_record(12, "third"), attempts=0, reason="behind", settings=None)
    assert store.key_is_held(TOPIC, b"patient-a") and not store.key_is_held(TOPIC, b"patient-b")

    assert retrier.run_once() == 0  # the first retry is due 5 s after holding
    assert [r.state for r in _rows(engine)] == ["retrying", "waiting", "waiting"]
    assert _gauge("retrying") == 1 and _gauge("waiting") == 2

    _release_all(engine)
    assert retrier.run_once() == 1  # failed again: the ones behind it were not tried
    first = _rows(engine)[0]
    assert (first.attempts, first.state, handler.applied) == (3, "retrying", [])
    assert first.next_attempt_at is not None

    handler.failing = set()
    _release_all(engine)
    assert retrier.run_once() == 3
    assert handler.applied == ["first", "second", "third"]
    assert _rows(engine) == [] and not store.key_is_held(TOPIC, b"patient-a")
    retrier.run_once()
    assert _gauge("retrying") == 0 and _gauge("waiting") == 0
    with engine.connect() as conn:
        assert len(conn.execute(select(processed_messages)).fetchall()) == 3


def test_after_the_attempt_limit_it_is_parked_with_an_alert_and_ops_decide(world, caplog):
    engine, handler, retrier, _dead, _owned, store = world
    handler.failing = {"poison"}
    store.hold(_record(20, "poison"), attempts=3, reason="TransientError: x", settings=SETTINGS)
    store.hold(_record(21, "later"), attempts=0, reason="behind", settings=None)
    _release_all(engine)
    with caplog.at_level(logging.ERROR, logger="shared.events.holding"):
        retrier.run_once()
    poison, later = _rows(engine)
    assert (poison.state, poison.attempts, poison.next_attempt_at) == ("parked", 4, None)
    assert later.state == "waiting" and handler.applied == []
    assert _gauge("parked") == 0  # counted at the start of the next pass
    retrier.run_once()
    assert _gauge("parked") == 1
    [line] = [r for r in caplog.records if "parked" in r.getMessage()]
    assert (line.held_id, line.offset, line.error) == (poison.id, 20, "TransientError")
    assert "poison" not in json.dumps(line.__dict__, default=str)  # ids only: not the record's content or reason

    assert retrier.run_once() == 0  # parked stays parked
    with engine.begin() as conn:
        released = held.release(conn, later.id)  # releasing the one behind releases its key's oldest
    assert released.state == "waiting" and _rows(engine)[0].state == "retrying"
    retrier.run_once()
    assert _rows(engine)[0].state == "parked"  # one more attempt; it failed, so parked again

    with engine.begin() as conn:
        with pytest.raises(held.HeldRecordConflict, match="only a key's oldest"):
            held.discard(conn, later.id)
        discarded = held.discard(conn, poison.id)
    assert discarded.state == "discarded"
    retrier.run_once()
    assert handler.applied == ["later"]
    with engine.connect() as conn:
        assert [r.state for r in held.list_held(conn, include_discarded=True)] == ["discarded"]
        assert held.list_held(conn) == []
        with pytest.raises(held.HeldRecordConflict):
            held.release(conn, poison.id)
        with pytest.raises(held.HeldRecordNotFound):
            held.get_held(conn, 10 ** 6)


def test_a_permanent_error_behind_a_held_record_is_dead_lettered_in_its_turn(world):
    engine, handler, retrier, dead_letters, _owned, store = world
    handler.failing = {"first"}
    store.hold(_record(30, "first"), attempts=2, reason="x", settings=SETTINGS)
    store.hold(_record(31, "", value=b"not json"), attempts=0, reason="behind", settings=None)
    store.hold(_record(32, "third"), attempts=0, reason="behind", settings=None)
    _release_all(engine)
    retrier.run_once()
    assert dead_letters == []  # not before its turn
    handler.failing = set()
    _release_all(engine)
    retrier.run_once()
    assert [offset for offset, _reason in dead_letters] == [31]
    assert dead_letters[0][1].startswith("not JSON")
    assert handler.applied == ["first", "third"] and _rows(engine) == []


def test_an_outage_is_retried_without_counting_toward_parking(world):
    engine, handler, retrier, _dead, _owned, store = world
    handler.failing, handler.error = {"first"}, OutageError
    store.hold(_record(40, "first"), attempts=3, reason="x", settings=SETTINGS)
    for _ in range(3):
        _release_all(engine)
        retrier.run_once()
    [first] = _rows(engine)
    assert (first.state, first.attempts) == ("retrying", 3)
    assert first.reason.startswith("OutageError")


def test_only_the_partitions_this_process_owns_are_worked_and_other_keys_go_their_own_way(world):
    engine, handler, retrier, _dead, owned, store = world
    store.hold(_record(50, "mine"), attempts=2, reason="x", settings=SETTINGS)
    store.hold(_record(51, "theirs", key="patient-b", partition=2), attempts=2, reason="x", settings=SETTINGS)
    _release_all(engine)
    retrier.run_once()
    assert handler.applied == ["mine"]
    owned.add(TopicPartition(TOPIC, 2))  # a rebalance gave this process partition 2
    retrier.run_once()
    assert handler.applied == ["mine", "theirs"]


def test_a_record_is_held_once_even_when_redelivered_after_a_crash_before_its_commit(world):
    engine, _handler, _retrier, _dead, _owned, store = world
    assert store.hold(_record(60, "first"), attempts=2, reason="x", settings=SETTINGS)
    assert not store.hold(_record(60, "first"), attempts=0, reason="behind", settings=None)
    with engine.connect() as conn:
        [row] = conn.execute(select(held_records)).fetchall()
    assert json.loads(row.headers) == [["traceparent", "MDAtYWJj"]]
    assert row.next_attempt_at is not None
    assert row.held_at + timedelta(seconds=4) < row.next_attempt_at


def test_an_ehr_that_answers_nothing_is_an_outage_however_a_handler_wrapped_it():
    from shared.fhir.client import FhirUnavailable

    def wrapped(status: int) -> Exception:
        try:
            try:
                raise FhirUnavailable(status, ["down"])
            except FhirUnavailable:
                raise TransientError("EHR unavailable while checking a CPOE order") from None
        except TransientError as error:
            return error

    assert is_outage(OutageError("down")) and is_outage(wrapped(0)) and is_outage(wrapped(503))
    assert not is_outage(wrapped(500)) and not is_outage(TransientError("stale")) and not is_outage(RuntimeError())


def test_a_different_record_at_a_held_offset_is_not_held_and_says_so(world, caplog):
    _engine, _handler, _retrier, _dead, _owned, store = world
    first = _record(70, "first")
    store.hold(first, attempts=2, reason="x", settings=SETTINGS)
    with caplog.at_level(logging.ERROR, logger="shared.events.holding"):
        assert not store.hold(first, attempts=0, reason="behind", settings=None)  # a redelivery
        assert not [r for r in caplog.records if "reused" in r.getMessage()]
        assert not store.hold(_record(70, "another"), attempts=0, reason="behind", settings=None)
    [line] = [r for r in caplog.records if "reused" in r.getMessage()]
    assert (line.topic, line.offset) == (TOPIC, 70)
