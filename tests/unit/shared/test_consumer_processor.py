"""MessageProcessor on a real SQLite store: done, duplicate, ignored, dead-letter reasons, and no half-writes."""
import pytest
from sqlalchemy import func, select

from shared.db import create_database, outbox, processed_messages
from shared.events.consumer import MessageProcessor, PermanentError
from shared.events.outbox import enqueue
from shared.fhir.messaging import build_message

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}


@pytest.fixture
def engine(tmp_path):
    return create_database(f"sqlite:///{tmp_path / 'test.db'}")


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_redelivered_message_has_no_effect(engine):
    calls = []

    def handler(message, conn):
        calls.append(message.message_id)
        enqueue(conn, "out", "p1", build_message("follow-up", "urn:t", [OBSERVATION]))

    processor = MessageProcessor(engine, {"order-signed": handler})
    value = __import__("json").dumps(build_message("order-signed", "urn:t", [OBSERVATION], message_id="m1")).encode()
    assert processor.process("in", value) == "done"
    assert processor.process("in", value) == "duplicate"
    assert calls == ["m1"]
    assert _count(engine, outbox) == 1


def test_a_failing_handler_writes_nothing(engine):
    def handler(message, conn):
        enqueue(conn, "out", "p1", build_message("follow-up", "urn:t", [OBSERVATION]))
        raise PermanentError("the order is for an unknown patient")

    processor = MessageProcessor(engine, {"order-signed": handler})
    value = __import__("json").dumps(build_message("order-signed", "urn:t", [OBSERVATION])).encode()
    with pytest.raises(PermanentError, match="unknown patient"):
        processor.process("in", value)
    assert _count(engine, outbox) == 0
    assert _count(engine, processed_messages) == 0


@pytest.mark.parametrize("value, reason", [
    (None, "empty record"), (b"\xff\xfe", "not JSON"), (b"{}", "not a FHIR Bundle"),
])
def test_undecodable_records_are_permanent_errors(engine, value, reason):
    with pytest.raises(PermanentError, match=reason):
        MessageProcessor(engine, {}).process("in", value)


def test_unknown_events_are_ignored_by_default(engine):
    value = __import__("json").dumps(build_message("something-else", "urn:t", [OBSERVATION])).encode()
    assert MessageProcessor(engine, {}).process("in", value) == "ignored"
    with pytest.raises(PermanentError, match="no handler"):
        MessageProcessor(engine, {}, ignore_unknown_events=False).process("in", value)
