"""One trace follows a clinician's click to the EHR's answer: the intake's decision request, the outbox and its
Kafka record, the EHR's integration engine consuming it, its FHIR transaction and its answer message, and the
intake consuming that answer, each span a child of the one before, all under the trace id of the click.

The intake service and an integration engine run in this test process against the session's real broker and
EHR, exporting to the OpenTelemetry SDK's in-memory exporter; each reads with a consumer group of its own that
starts at the end of its topics. (The sandbox process's own engine answers the same decision too: its answer is
another message and not traced here.)"""
from __future__ import annotations

import gzip
import re
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from werkzeug.serving import make_server

from deploy.ehr_sandbox.integration_engine import IntegrationEngine
from services.intake import bootstrap as intake_bootstrap
from shared.config import load_settings
from shared.events.consumer import ANY_EVENT
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS, EHR_RESPONSES, INTAKE_EVENTS
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.tracing import start_tracing, stop_tracing, tracing_enabled
from tests.integration.intake.steps import CLINICIAN, patient_id, record_all, screen, start, wait_until_applied
from tests.security.phi import report, scan_text
from tests.support.backend_auth import service_tokens
from tests.support.kafka_tools import wait_for
from tests.support.processes import group_timing_environment, service, start_group_at_end

pytestmark = pytest.mark.integration

HEX_32 = re.compile(r"[0-9a-f]{32}")


@dataclass
class Traced:
    spans: InMemorySpanExporter
    intake_url: str
    intake_group: str
    engine_group: str


@pytest.fixture(scope="module")
def traced(broker, ehr, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    spans = InMemorySpanExporter()
    start_tracing("ketalink-trace-test", [spans], batch=False)
    data_dir: Path = tmp_path_factory.mktemp("tracing")
    kafka = load_settings(KafkaSettings, "KAFKA_", {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                                                    **group_timing_environment()})
    suffix = uuid.uuid4().hex[:8]
    intake_group, engine_group = f"ketalink-intake-tracing-{suffix}", f"ketalink-ehr-tracing-{suffix}"
    start_group_at_end(broker.bootstrap, intake_group, ACCESS["intake"].reads)
    start_group_at_end(broker.bootstrap, engine_group, ACCESS["ehr"].reads)
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("SMART_AUTH_REQUIRED", "false")  # the API driven without tokens, as a local run allows
        environment.setenv("KETALINK_LOCAL_RUN", "true")
        intake = ServiceRuntime("intake", ServiceSettings(database_url=f"sqlite:///{data_dir / 'intake.db'}",
                                                          ehr_fhir_base_url=ehr.base_url,
                                                          consumer_group=intake_group),
                                kafka, ehr_tokens=service_tokens("intake", ehr.base_url))
        app, handlers, response_handlers = intake_bootstrap.build(intake)
    engine_runtime = ServiceRuntime("ehr", ServiceSettings(database_url=f"sqlite:///{data_dir / 'engine.db'}",
                                                           ehr_fhir_base_url=ehr.base_url,
                                                           public_base_url="urn:ehr-sandbox:interface-engine",
                                                           consumer_group=engine_group), kafka)
    engine = IntegrationEngine(engine_runtime, ehr.client)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, name="intake-http", daemon=True)
    serving.start()
    intake.start_worker(handlers, response_handlers=response_handlers)
    engine_runtime.start_worker({ANY_EVENT: engine.handle})
    try:
        yield Traced(spans, f"http://127.0.0.1:{server.server_port}", intake_group, engine_group)
    finally:
        server.shutdown()
        intake.stop_worker()
        engine_runtime.stop_worker()
        stop_tracing()  # later tests in this process run untraced, as before
        assert not tracing_enabled()


def test_one_trace_spans_the_click_the_outbox_the_engine_the_ehr_and_its_answer(traced, ehr):
    patient = patient_id(ehr, "KL-1001")
    started = start(traced.intake_url, patient)
    assert started.status_code == 201, started.text
    intake_id = started.json()["intake_id"]
    record_all(traced.intake_url, intake_id, screen())

    tracer = trace.get_tracer("tests.tracing")
    with tracer.start_as_current_span("clinician decides eligibility") as click:  # the browser's side of the click
        decided = requests.post(f"{traced.intake_url}/intakes/{intake_id}/decision",
                                json={"decided_by": CLINICIAN, "attested": True}, timeout=15)
    assert decided.status_code == 200, decided.text
    trace_id = click.get_span_context().trace_id
    wait_until_applied(traced.intake_url, intake_id)

    def answer_consumed() -> ReadableSpan | None:
        return next((s for s in _in_trace(traced.spans, trace_id) if s.kind == SpanKind.CONSUMER
                     and s.attributes.get("messaging.destination.name") == EHR_RESPONSES
                     and s.attributes.get("messaging.consumer.group.name") == traced.intake_group), None)

    intake_reads_answer = wait_for(answer_consumed, timeout_s=60, what="the intake consuming the traced answer")
    spans = {s.context.span_id: s for s in _in_trace(traced.spans, trace_id)}

    # Hop by hop, each span the child of the one before.
    request = _only(spans, lambda s: s.kind == SpanKind.SERVER)
    assert request.attributes["http.route"] == "/intakes/<intake_id>/decision"
    assert HEX_32.fullmatch(request.attributes["ketalink.request_id"])
    assert decided.headers["X-Request-ID"] == request.attributes["ketalink.request_id"]
    assert _parent(spans, request).name == "POST"  # the click's client span, under the click
    assert any(s.attributes.get("db.system") == "sqlite" and _is_under(spans, s, request) for s in spans.values()), \
        "the decision's SQL statements are spans of the request"

    sent = _only(spans, lambda s: s.kind == SpanKind.PRODUCER
                 and s.attributes["messaging.destination.name"] == INTAKE_EVENTS)
    assert sent.attributes["ketalink.event_code"] == "intake-eligibility-decided"
    assert _is_under(spans, sent, request)  # stored with the outbox row in the request, sent later by the relay

    applied = _only(spans, lambda s: s.kind == SpanKind.CONSUMER
                    and s.attributes["messaging.consumer.group.name"] == traced.engine_group)
    assert applied.parent.span_id == sent.context.span_id
    assert applied.attributes["messaging.message.id"] == sent.attributes["messaging.message.id"]

    transaction = _only(spans, lambda s: s.kind == SpanKind.CLIENT and s.parent.span_id == applied.context.span_id
                        and _url(s) == ehr.base_url.rstrip("/") and s.attributes.get("http.method") == "POST")
    assert transaction.attributes["http.status_code"] == 200

    answered = _only(spans, lambda s: s.kind == SpanKind.PRODUCER
                     and s.attributes["messaging.destination.name"] == EHR_RESPONSES)
    assert _is_under(spans, answered, applied)
    assert intake_reads_answer.parent.span_id == answered.context.span_id

    # One connected tree: every span's parent is in the trace, up to the click.
    roots = [s for s in spans.values() if s.parent is None or s.parent.span_id not in spans]
    assert [r.name for r in roots] == ["clinician decides eligibility"]


def test_spans_hold_no_query_strings_and_no_phi(traced):
    """After the journey above (and the tests' own searches by MRN, which name a patient in their query)."""
    finished = traced.spans.get_finished_spans()
    assert len(finished) > 20
    urls = [_url(s) for s in finished if _url(s)]
    assert urls and not [url for url in urls if "?" in url]
    text = "\n".join(f"{s.name} {dict(s.attributes)} {[e.name for e in s.events]}" for s in finished)
    findings = scan_text(text, "spans")
    assert not findings, "PHI of the seeded patients in the spans:\n" + report(findings)


def test_a_service_process_sends_its_spans_over_otlp_when_the_environment_asks(broker, ehr, log_dir: Path,
                                                                               tmp_path: Path):
    """The configuration path of a real process: OTEL_TRACES_EXPORTER=otlp and OTEL_EXPORTER_OTLP_ENDPOINT (an
    OTLP/HTTP receiver in this test), the service named ketalink-<service>, an incoming traceparent continued."""
    patient = patient_id(ehr, "KL-1002")
    with otlp_receiver() as (endpoint, received):
        process, base_url = service("intake", log_dir, tmp_path, broker.bootstrap, ehr.base_url, {
            "RUN_WORKER": "false", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200"})
        process.log_path = log_dir / "intake-otlp.log"
        process.start()
        try:
            trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
            # urllib, not requests: the test process may trace requests itself and would replace the header
            asked = urllib.request.Request(f"{base_url}/patients/{patient}/intakes",
                                           headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
            with urllib.request.urlopen(asked, timeout=15) as answer:
                assert answer.status == 200
                request_id = answer.headers["X-Request-ID"]

            def server_span() -> tuple[dict, object] | None:
                return next(((resource, span) for resource, span in list(received)
                             if span.trace_id.hex() == trace_id and span.kind == span.SPAN_KIND_SERVER), None)

            resource, span = wait_for(server_span, timeout_s=30, what="the request's server span over OTLP")
        finally:
            process.stop()
    assert resource["service.name"] == "ketalink-intake"
    assert span.parent_span_id.hex() == parent_id
    attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
    assert attributes["http.route"] == "/patients/<patient_id>/intakes"
    assert attributes["ketalink.request_id"] == request_id
    assert any(s.trace_id.hex() == trace_id and s.parent_span_id == span.span_id and s.kind == s.SPAN_KIND_CLIENT
               for _, s in received), "the request's SQL or EHR reads are children of its server span"


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, list]]:
    """A minimal OTLP/HTTP trace receiver (protobuf, as the exporter sends by default): what it received, as
    (resource attributes, span) pairs."""
    received: list = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            export = ExportTraceServiceRequest.FromString(body)
            for resource_spans in export.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                received.extend((resource, span) for scope in resource_spans.scope_spans for span in scope.spans)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, name="otlp-receiver", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()


def _in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def _only(spans: dict[int, ReadableSpan], matches) -> ReadableSpan:
    found = [s for s in spans.values() if matches(s)]
    assert len(found) == 1, [(s.name, s.kind, dict(s.attributes)) for s in found] or sorted(
        (s.name, str(s.kind)) for s in spans.values())
    return found[0]


def _parent(spans: dict[int, ReadableSpan], span: ReadableSpan) -> ReadableSpan:
    return spans[span.parent.span_id]


def _is_under(spans: dict[int, ReadableSpan], span: ReadableSpan, ancestor: ReadableSpan) -> bool:
    while span.parent is not None and span.parent.span_id in spans:
        span = spans[span.parent.span_id]
        if span.context.span_id == ancestor.context.span_id:
            return True
    return False


def _url(span: ReadableSpan) -> str:
    return str(span.attributes.get("url.full") or span.attributes.get("http.url") or "")
