"""OpenTelemetry tracing: one trace from a clinician's click through the outbox and Kafka to the EHR's answer.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (Ketalink's default is ``none``, where the OpenTelemetry
SDK's is ``otlp``): then nothing is set up, the API stays a no-op and the only cost is a few attribute lookups.
On, each process sets a TracerProvider once (``ServiceRuntime`` asks: ``trace_service``) and instruments:

- Flask (server spans, ``/healthz``, ``/readyz`` and ``/metrics`` excluded), requests (the EHR's FHIR API and
  token endpoint) and SQLAlchemy (each service's engine) with the OpenTelemetry contrib instrumentations;
- Kafka by hand, because the contrib kafka-python instrumentation cannot serve here: its releases pin an older
  OpenTelemetry than the SDK's, it wraps only ``KafkaConsumer.__next__`` (Ketalink polls) and it would inject the
  relay thread's context, not the request's. Instead ``enqueue`` stores the request's W3C ``traceparent`` and
  ``tracestate`` in ``outbox.trace_context`` (``current_trace_context``), the relay opens a PRODUCER span under it
  and sends that span's context as Kafka headers (``publish_headers``), and the consumer processes each record in
  a CONSUMER span under the headers' context (``consumer_span``). The EHR sandbox's engine runs the same consumer
  and outbox, so its FHIR transaction and its answer message stay in the trace.

No PHI in spans: URLs lose their query strings (a search may name a patient; a SMART callback carries its code),
SQL spans hold the statement with placeholders only, failed spans keep the error's type, never its message.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.engine import Engine

from shared.config import load_settings
from shared.logs import header_value, install_request_ids

if TYPE_CHECKING:  # the SDK is imported where tracing starts (at start-up, when it is on): off, it is never loaded
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

EXPORTERS = ("none", "otlp", "console")
UNTRACED_URLS = "/healthz,/readyz,/metrics"
W3C_HEADERS = ("traceparent", "tracestate")
_W3C = TraceContextTextMapPropagator()  # only the W3C trace context travels: never baggage a caller sent


@dataclass(frozen=True)
class TracingSettings:
    """The standard variables (prefix ``OTEL_``); the SDK and the OTLP exporter read the others themselves
    (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``_HEADERS`` / ``_TIMEOUT``, ``OTEL_TRACES_SAMPLER`` / ``_ARG``,
    ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_BSP_*``)."""

    sdk_disabled: bool = False
    traces_exporter: tuple[str, ...] = ("none",)
    exporter_otlp_protocol: str = "http/protobuf"
    exporter_otlp_traces_protocol: str = ""
    exporter_otlp_endpoint: str = ""
    service_name: str = ""  # default ketalink-<service>
    # The instrumentations would copy the HTTP headers named here into spans: cookies, bearer tokens. Refused.
    instrumentation_http_capture_headers_server_request: str = ""
    instrumentation_http_capture_headers_server_response: str = ""
    instrumentation_http_capture_headers_client_request: str = ""
    instrumentation_http_capture_headers_client_response: str = ""

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            if field.name.startswith("instrumentation_http_capture_headers_") and getattr(self, field.name):
                raise ValueError(f"OTEL_{field.name.upper()}: spans hold no HTTP headers (session cookies and bearer "
                                 "tokens would be copied into them); leave it unset")
        unknown = [name for name in self.traces_exporter if name not in EXPORTERS]
        if unknown:
            raise ValueError(f"OTEL_TRACES_EXPORTER: {', '.join(unknown)} is not one of {', '.join(EXPORTERS)}")
        protocol = self.exporter_otlp_traces_protocol or self.exporter_otlp_protocol
        if "otlp" in self.traces_exporter and protocol != "http/protobuf":
            raise ValueError("OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is installed (no gRPC exporter)")
        if self.exporter_otlp_endpoint and not self.exporter_otlp_endpoint.startswith(("http://", "https://")):
            raise ValueError("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL")

    @property
    def enabled(self) -> bool:
        return not self.sdk_disabled and any(name != "none" for name in self.traces_exporter)

    def span_exporters(self) -> list[SpanExporter]:
        exporters: list[SpanExporter] = []
        if "otlp" in self.traces_exporter:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            exporters.append(OTLPSpanExporter())
        if "console" in self.traces_exporter:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter
            exporters.append(ConsoleSpanExporter())
        return exporters


class _State:
    lock = threading.Lock()
    provider: TracerProvider | None = None
    environment_read = False
    engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def tracing_enabled() -> bool:
    return _State.provider is not None


def trace_service(service: str, engine: Engine) -> None:
    """Set tracing up from ``OTEL_*`` once per process (a bad value raises ``SettingsError``), then trace
    ``engine``'s SQL. Called by every ``ServiceRuntime``."""
    with _State.lock:
        read_now = not _State.environment_read
        _State.environment_read = True
    if read_now and _State.provider is None:
        settings = load_settings(TracingSettings, "OTEL_")
        if settings.enabled:
            start_tracing(settings.service_name or f"ketalink-{service}", settings.span_exporters(), batch=True)
    if _State.provider is not None:
        instrument_engine(engine)


def start_tracing(service_name: str, exporters: Sequence[SpanExporter], batch: bool = True) -> TracerProvider:
    """Install the process's TracerProvider exporting to ``exporters`` (the SDK reads the sampler and resource
    attributes from ``OTEL_*``) and instrument requests. Called again, it adds the exporters to the provider it
    already set (``batch=False``: spans are exported as they end, as the tests want)."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    with _State.lock:
        provider = _State.provider
        if provider is None:
            provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
            trace.set_tracer_provider(provider)
            _State.provider = provider
            RequestsInstrumentor().instrument(tracer_provider=provider, request_hook=_client_request_hook)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


def stop_tracing() -> None:
    """Export what has ended and stop tracing in this process: requests is no longer instrumented and later
    runtimes, apps and records are not traced (a test that traced leaves the process as it found it). The
    OpenTelemetry API cannot unset its global provider: it stays, shut down, and nothing here uses it."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    with _State.lock:
        provider, _State.provider = _State.provider, None
    if provider is not None:
        RequestsInstrumentor().uninstrument()
        provider.shutdown()


def instrument_engine(engine: Engine) -> None:
    """Trace ``engine``'s statements (placeholders only, never parameters). The contrib instrumentation declares
    SQLAlchemy < 2.1; its per-engine tracer is attached directly and works with 2.1 (tests/integration/
    test_tracing.py sees its spans)."""
    if _State.provider is None or engine in _State.engines:
        return
    from opentelemetry.instrumentation.sqlalchemy import __version__ as sqlalchemy_instrumentation_version
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", sqlalchemy_instrumentation_version,
                              _State.provider)
    usage = get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer, engine, usage)
    _State.engines.add(engine)


def instrument_web_app(app: Flask) -> None:
    """Request ids on every request (always) and server spans (when tracing is on); ``shared.web.install`` calls
    it for every service's app."""
    install_request_ids(app)
    if _State.provider is not None:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        FlaskInstrumentor.instrument_app(app, tracer_provider=_State.provider, excluded_urls=UNTRACED_URLS,
                                         response_hook=_server_response_hook, enable_commenter=False)


def current_trace_context() -> str | None:
    """The current span's W3C context as stored in ``outbox.trace_context`` (JSON of ``traceparent`` and
    ``tracestate``), or None outside a sampled span (tracing off, or a job with no span)."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return json.dumps(carrier, separators=(",", ":")) if carrier else None


def publish_headers(stored: str | None, topic: str, message_id: str, event_code: str) -> list[tuple[str, bytes]]:
    """Kafka headers carrying the trace on: with tracing on, the context of a PRODUCER span opened (and ended) as
    the relay hands the row to the producer, under the context ``enqueue`` stored; with tracing off, the stored
    context as it is, so a trace still reaches a consumer that traces."""
    parent = _carrier(stored)
    if _State.provider is None:
        return [(name, parent[name].encode()) for name in W3C_HEADERS if name in parent]
    tracer = trace.get_tracer(__name__, tracer_provider=_State.provider)
    span = tracer.start_span(f"{topic} publish", context=_W3C.extract(parent), kind=SpanKind.PRODUCER,
                             attributes=_messaging_attributes(topic, message_id, event_code, "publish"))
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    return [(name, carrier[name].encode()) for name in W3C_HEADERS if name in carrier]


@contextlib.contextmanager
def consumer_span(record: Any, consumer_name: str) -> Iterator[None]:
    """Process one Kafka record inside a CONSUMER span whose parent is the ``traceparent`` in its headers; the
    handler's SQL, EHR calls and the events it enqueues are children of it. A failure marks the span as an error
    with the error's type only (its text is never recorded)."""
    if _State.provider is None:
        yield
        return
    parent = _W3C.extract({name: value for name in W3C_HEADERS
                           if (value := header_value(record.headers, name)) is not None})
    attributes = _messaging_attributes(record.topic, header_value(record.headers, "message-id"),
                                       header_value(record.headers, "event-code"), "process")
    attributes.update({"messaging.consumer.group.name": consumer_name,
                       "messaging.destination.partition.id": str(record.partition),
                       "messaging.kafka.offset": record.offset})
    tracer = trace.get_tracer(__name__, tracer_provider=_State.provider)
    with tracer.start_as_current_span(f"{record.topic} process", context=parent, kind=SpanKind.CONSUMER,
                                      attributes=attributes, record_exception=False,
                                      set_status_on_exception=False) as span:
        try:
            yield
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute("error.type", type(error).__name__)
            raise


def _carrier(stored: str | None) -> dict[str, str]:
    if not stored:
        return {}
    try:
        carrier = json.loads(stored)
    except ValueError:
        return {}
    return {k: v for k, v in carrier.items() if k in W3C_HEADERS and isinstance(v, str)} \
        if isinstance(carrier, dict) else {}


def _messaging_attributes(topic: str, message_id: str | None, event_code: str | None,
                          operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"messaging.system": "kafka", "messaging.destination.name": topic,
                                  "messaging.operation.type": operation}
    if message_id:
        attributes["messaging.message.id"] = message_id
    if event_code:
        attributes["ketalink.event_code"] = event_code
    return attributes


_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")


def _without_query(span: Any) -> None:
    """Cut the query string off every URL attribute the instrumentations set."""
    attributes = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def _client_request_hook(span: Any, _request: Any) -> None:
    if span.is_recording():
        _without_query(span)


def _server_response_hook(span: Any, _status: str, _headers: Any) -> None:
    if span.is_recording():
        _without_query(span)
