"""MessageProcessor on a real SQLite store: done, duplicate, ignored, dead-letter reasons, no half-writes, and
response messages routed apart from events."""
import json

import pytest
from sqlalchemy import func, select

from shared.db import create_database, outbox, processed_messages
from shared.events.consumer import ANY_EVENT, MessageProcessor, PermanentError
from shared.events.outbox import enqueue
from shared.fhir.messaging import ResponseCode, build_message, build_response, parse_message

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


def _encoded(bundle) -> bytes:
    return json.dumps(bundle).encode()


def _response_to(event_code: str, code: ResponseCode = ResponseCode.OK) -> bytes:
    """The EHR's answer to one of our messages: it carries the event code of the message it answers."""
    request = parse_message(build_message(event_code, "urn:ketalink:orders", [OBSERVATION]))
    return _encoded(build_response(request, code, "urn:ehr"))


class Recorder:
    """Handlers that note which of them saw which message."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def __call__(self, name):
        return lambda message, conn: self.calls.append((name, message.event_code))


def test_a_response_goes_to_the_response_handler_of_the_event_code_it_answers(engine):
    seen = Recorder()
    processor = MessageProcessor(engine, {"order-signed": seen("event")},
                                 response_handlers={"order-signed": seen("response")})
    assert processor.process("ehr.responses", _response_to("order-signed")) == "done"
    assert processor.process("in", _encoded(build_message("order-signed", "urn:t", [OBSERVATION]))) == "done"
    assert seen.calls == [("response", "order-signed"), ("event", "order-signed")]


def test_a_response_without_a_response_handler_is_ignored_and_never_reaches_an_event_handler(engine):
    seen = Recorder()
    for processor in (MessageProcessor(engine, {"order-signed": seen("event"), ANY_EVENT: seen("any event")}),
                      MessageProcessor(engine, {}, {"order-changed": seen("response")}, ignore_unknown_events=False)):
        assert processor.process("ehr.responses", _response_to("order-signed")) == "ignored"
    assert seen.calls == []
    assert _count(engine, processed_messages) == 0


def test_any_event_takes_the_responses_without_a_handler_of_their_own(engine):
    seen = Recorder()
    processor = MessageProcessor(engine, {}, {"order-signed": seen("signed"), ANY_EVENT: seen("any")})
    assert processor.process("ehr.responses", _response_to("order-signed")) == "done"
    assert processor.process("ehr.responses", _response_to("cpoe-order-response", ResponseCode.FATAL_ERROR)) == "done"
    assert seen.calls == [("signed", "order-signed"), ("any", "cpoe-order-response")]


def test_an_event_never_goes_to_a_response_handler(engine):
    seen = Recorder()
    processor = MessageProcessor(engine, {}, {ANY_EVENT: seen("response")})
    assert processor.process("in", _encoded(build_message("order-signed", "urn:t", [OBSERVATION]))) == "ignored"
    assert seen.calls == []


def test_a_redelivered_response_has_no_effect(engine):
    seen = Recorder()
    processor = MessageProcessor(engine, {}, {ANY_EVENT: seen("response")})
    value = _response_to("note-signed")
    assert [processor.process("ehr.responses", value) for _ in range(2)] == ["done", "duplicate"]
    assert seen.calls == [("response", "note-signed")]
