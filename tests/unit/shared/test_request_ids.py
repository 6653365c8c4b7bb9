"""Request ids and the log context: every response names its request in X-Request-ID, every log line written
while a request or a consumed Kafka record is handled names it, and nothing a client sends reaches a log unless it
is a plain id. Also the tracing settings (off by default, a bad value refused at start) and the W3C context kept
in the outbox when tracing is off."""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from kafka.consumer.fetcher import ConsumerRecord
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from pythonjsonlogger.json import JsonFormatter

from shared.config import SettingsError, load_settings
from shared.logs import ContextFilter, PhiRedactingFilter, current_log_context, record_log_context
from shared.tracing import TracingSettings, current_trace_context, publish_headers, tracing_enabled
from shared.web import ApiError, install

log = logging.getLogger("tests.request_ids")
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(PhiRedactingFilter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield stream
    log.removeHandler(handler)


def _log_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    install(app, {})

    @app.get("/work")
    def work() -> dict:
        log.info("working", extra={"intake_id": "i-1"})
        return {"ok": True}

    @app.get("/refuse")
    def refuse() -> dict:
        log.warning("refusing")
        raise ApiError(400, "bad field", expression="x")

    return app


def test_a_request_without_an_id_gets_a_new_one_in_the_header_and_every_log_line(app, captured):
    client = app.test_client()
    first = client.get("/work")
    second = client.get("/work")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(HEX_ID.fullmatch(i) for i in ids) and ids[0] != ids[1]
    logged = _log_lines(captured)
    assert [(line["message"], line["request_id"]) for line in logged] == [("working", ids[0]), ("working", ids[1])]


def test_a_sane_incoming_id_is_kept(app, captured):
    for sane in ("3f2b8c1e-7d4a-4f6b-9c2d-1a2b3c4d5e6f", "0af7651916cd43dd8448eb211c80319c", "a" * 64):
        response = app.test_client().get("/work", headers={"X-Request-ID": sane})
        assert response.headers["X-Request-ID"] == sane
        assert _log_lines(captured)[-1]["request_id"] == sane


@pytest.mark.parametrize("insane", ["Maria Gonzalez", "KL-1001", "1961-03-04", "a" * 65, "abc123", "",
                                    "0af7651916cd43dd\"}{\"level\": \"x", "0af76519 16cd43dd8448"])
def test_an_incoming_id_that_could_carry_anything_else_is_replaced_and_never_logged(app, captured, insane):
    response = app.test_client().get("/work", headers={"X-Request-ID": insane})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])
    assert response.headers["X-Request-ID"] != insane
    written = captured.getvalue()
    assert _log_lines(captured)[-1]["request_id"] == response.headers["X-Request-ID"]
    assert not insane or insane not in written


def test_refused_and_unknown_requests_name_their_id_too(app, captured):
    client = app.test_client()
    refused = client.get("/refuse", headers={"X-Request-ID": "0af7651916cd43dd8448eb211c80319c"})
    assert refused.status_code == 400 and refused.headers["X-Request-ID"] == "0af7651916cd43dd8448eb211c80319c"
    assert _log_lines(captured)[-1] == {"levelname": "WARNING", "name": "tests.request_ids", "message": "refusing",
                                        "request_id": "0af7651916cd43dd8448eb211c80319c"}
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and HEX_ID.fullmatch(missing.headers["X-Request-ID"])
    too_big = client.post("/work", data=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1),
                          headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and HEX_ID.fullmatch(too_big.headers["X-Request-ID"])


def test_the_request_id_leaves_the_log_context_with_the_request(app, captured):
    app.test_client().get("/work")
    assert current_log_context() == {}
    log.info("after the request")
    assert "request_id" not in _log_lines(captured)[-1]


def _record(topic: str, partition: int, offset: int, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord(topic=topic, partition=partition, leader_epoch=0, offset=offset, timestamp=0,
                          timestamp_type=0, key=b"patient-1", value=b"{}", headers=headers, checksum=None,
                          serialized_key_size=9, serialized_value_size=2, serialized_header_size=-1)


def test_a_consumed_record_names_its_message_id_and_offset_while_it_is_handled(captured):
    record = _record("ketalink.intake.events", 2, 41,
                     [("message-id", b"6b0e6a52-0d8e-4c1e-8f0a-1f7e0d3c2b11"), ("event-code", b"x")])
    with record_log_context(record):
        log.info("applying", extra={"resource": {"name": "Maria Gonzalez"}})
    log.info("idle")
    applying, idle = _log_lines(captured)
    assert applying["message_id"] == "6b0e6a52-0d8e-4c1e-8f0a-1f7e0d3c2b11"
    assert applying["kafka_record"] == "ketalink.intake.events:2:41"
    assert applying["resource"] == "[redacted]"  # the PHI guard still applies beside the context
    assert "message_id" not in idle and "kafka_record" not in idle


def test_a_record_without_a_message_id_header_still_names_its_offset(captured):
    record = _record("ehr.events", 0, 7, [])
    with record_log_context(record):
        log.info("applying")
    [line] = _log_lines(captured)
    assert line["kafka_record"] == "ehr.events:0:7" and "message_id" not in line


def test_log_lines_inside_a_span_name_its_trace_and_span(captured):
    span_context = SpanContext(0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, is_remote=False,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED))
    with trace.use_span(NonRecordingSpan(span_context)):
        log.info("inside")
        stored = current_trace_context()
    log.info("outside")
    inside, outside = _log_lines(captured)
    assert (inside["trace_id"], inside["span_id"]) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    assert "trace_id" not in outside
    assert json.loads(stored) == {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    assert current_trace_context() is None  # no span: nothing to store in the outbox


def test_tracing_is_off_by_default_and_a_stored_context_still_reaches_kafka():
    settings = load_settings(TracingSettings, "OTEL_", {})
    assert settings.traces_exporter == ("none",) and not settings.enabled
    assert not load_settings(TracingSettings, "OTEL_", {"OTEL_TRACES_EXPORTER": "otlp",
                                                         "OTEL_SDK_DISABLED": "true"}).enabled
    assert load_settings(TracingSettings, "OTEL_", {"OTEL_TRACES_EXPORTER": "otlp,console"}).enabled
    if tracing_enabled():
        pytest.skip("another test of this process started tracing")
    stored = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","baggage":"name=Maria"}'
    assert publish_headers(stored, "t", "m", "e") == [
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]  # only W3C trace context
    assert publish_headers(None, "t", "m", "e") == [] and publish_headers("not json", "t", "m", "e") == []


@pytest.mark.parametrize(("environ", "named"), [
    ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ({"OTEL_SDK_DISABLED": "maybe"}, "OTEL_SDK_DISABLED"),
    ({"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": "Cookie,Authorization"},
     "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"),
])
def test_a_bad_tracing_setting_stops_the_start_naming_the_variable(environ, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(TracingSettings, "OTEL_", environ)
