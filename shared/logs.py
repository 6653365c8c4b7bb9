"""JSON logs on stdout that carry ids, never PHI, and tie every line to its request or Kafka record.

Code logs record ids, topics, offsets and outcomes in ``extra``; it never logs resources, names, birth dates or
free text. As a second guard, ``PhiRedactingFilter`` drops extra fields whose names suggest patient data.

Every line written while a request or a consumed record is handled carries that request's ``request_id`` (also the
``X-Request-ID`` response header) or the record's ``message_id`` and ``kafka_record`` (``topic:partition:offset``,
the reference the ops CLI takes), plus ``trace_id``/``span_id`` when tracing is on, so an operator can gather all
lines of one click or one message. The context lives in a ``ContextVar``: each request thread and the consumer
thread see only their own.
"""
from __future__ import annotations

import contextlib
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g, request
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

PHI_FIELD_NAMES = frozenset({"given", "family", "birth_date", "birthdate", "birthDate", "address",
                             "telecom", "phone", "email", "mrn", "ssn", "resource", "payload", "body", "note"})

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it looks like what proxies and gateways issue (a UUID, nginx's $request_id, a
# W3C trace id): hexadecimal digits and dashes, 16-64 characters. Such a value cannot carry a name, a date of birth
# or a log-breaking character; anything else is replaced by a fresh id (and the value sent is never logged).
_SANE_REQUEST_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")

_context: ContextVar[Mapping[str, str]] = ContextVar("ketalink_log_context", default={})


class PhiRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for field in PHI_FIELD_NAMES:
            if field in record.__dict__:
                record.__dict__[field] = "[redacted]"
        return True


class ContextFilter(logging.Filter):
    """Adds the current request id or consumed record, and the current trace and span ids, to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if name not in record.__dict__:
                record.__dict__[name] = value
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.__dict__.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
            record.__dict__.setdefault("span_id", trace.format_span_id(span_context.span_id))
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                       static_fields={"service": service}))
    handler.addFilter(ContextFilter())
    handler.addFilter(PhiRedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "urllib3", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Group membership (joins, elections, leaves) is rare and is what an operator needs when a consumer stalls.
    logging.getLogger("kafka.coordinator").setLevel(logging.INFO)


def current_log_context() -> Mapping[str, str]:
    """The ids the current request or record adds to each log line (empty outside both)."""
    return _context.get()


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add ``fields`` (ids only) to every log line written inside the block; ``None`` values are left out."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def record_log_context(record: Any) -> contextlib.AbstractContextManager[None]:
    """The log context of one consumed Kafka record: its message id (the ``message-id`` header the outbox sets)
    and its ``topic:partition:offset``."""
    return log_context(message_id=header_value(record.headers, "message-id"),
                       kafka_record=f"{record.topic}:{record.partition}:{record.offset}")


def header_value(headers: Any, name: str) -> str | None:
    """One Kafka header as text (kafka-python gives a list of ``(str, bytes)``), or None."""
    for key, value in headers or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def request_id_from(incoming: str | None) -> str:
    """The incoming ``X-Request-ID`` when it is sane, else a new one."""
    if incoming is not None and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def install_request_ids(app: Flask) -> None:
    """Give every request an id: in the log context while it runs and in the ``X-Request-ID`` response header.
    Registered first, so the app's other ``before_request`` checks already log with it."""
    app.before_request_funcs.setdefault(None, []).insert(0, _bind_request_id)
    app.after_request(_send_request_id)
    app.teardown_request(_unbind_request_id)


_TOKEN = "ketalink_log_context_token"


def _bind_request_id() -> None:
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_id = request_id
    setattr(g, _TOKEN, _context.set({**_context.get(), "request_id": request_id}))


def _send_request_id(response: Response) -> Response:
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    span = trace.get_current_span()  # the request's server span, when tracing is on (it ends at teardown)
    if span.is_recording():
        span.set_attribute("ketalink.request_id", request_id)
    return response


def _unbind_request_id(_error: BaseException | None) -> None:
    token = g.pop(_TOKEN, None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (cannot happen with Flask's request flow): nothing to undo
            pass
