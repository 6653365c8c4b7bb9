"""Flask glue every service uses: errors as FHIR OperationOutcome, health and readiness, Prometheus metrics.

Why one place: bad input must always get a clear 4xx with an OperationOutcome naming the field, and never a 500
with a stack trace, in every service alike.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from shared.config import load_settings
from shared.json_bounds import JsonBounds, too_deep
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS, exposition
from shared.tracing import instrument_web_app

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], None]  # raises when a dependency is not ready
S = TypeVar("S")


def install_service(app: Flask, key: str, service: object) -> None:
    """Put a service layer on the app for the views: views are module-level functions on blueprints, so they
    reach the service through the app (``app_service``), not through a closure of a factory."""
    app.extensions[key] = service


def app_service(key: str, kind: type[S]) -> S:
    """The service layer ``bootstrap`` installed under ``key`` on the current app, checked to be a ``kind``."""
    service = current_app.extensions[key]
    if not isinstance(service, kind):
        raise TypeError(f"app.extensions[{key!r}] is a {type(service).__name__}, not a {kind.__name__}")
    return service


class ApiError(Exception):
    """An error the client can act on: HTTP status, FHIR issue code, what is wrong and where (the field)."""

    def __init__(self, status: int, diagnostics: str, *, code: str = "invalid", expression: str | None = None,
                 issues: list[tuple[str, str]] | None = None):
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        # (field, message) pairs; one issue each. Defaults to the one diagnostics/expression pair.
        self.issues = issues or [(expression or "", diagnostics)]


def operation_outcome(issues: list[tuple[str, str]], *, code: str = "invalid", severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": severity, "code": code, "diagnostics": message, **({"expression": [where]} if where else {})}
            for where, message in issues
        ],
    }


def outcome_response(status: int, issues: list[tuple[str, str]], code: str = "invalid") -> tuple[Response, int]:
    response = jsonify(operation_outcome(issues, code=code))
    response.mimetype = "application/fhir+json"
    return response, status


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object (Content-Type: application/json)",
                       code="structure")
    return body


def install(app: Flask, ready_checks: dict[str, ReadyCheck]) -> None:
    """Register error handlers, /healthz, /readyz, /metrics and request metrics on ``app``."""
    instrument_web_app(app)  # request ids (X-Request-ID, log lines) and, when tracing is on, server spans
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.extensions[READY_CHECKS] = ready_checks
    app.add_url_rule("/healthz", "healthz", _healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", _readyz, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])
    bounds = load_settings(JsonBounds, "KETALINK_")
    app.config["MAX_CONTENT_LENGTH"] = bounds.max_body_bytes  # Werkzeug answers 413 before reading more
    app.extensions[JSON_BOUNDS] = bounds
    app.before_request(_start_timer)
    app.before_request(_refuse_nul_in_url)
    app.before_request(_refuse_deep_json)
    app.after_request(_record)


READY_CHECKS = "ketalink.ready_checks"
JSON_BOUNDS = "ketalink.json_bounds"


def _refuse_nul_in_url() -> None:
    """A NUL character in the path or query is no id Ketalink issued: 400, before a store is asked (PostgreSQL
    refuses NUL in text with an error, not a miss)."""
    if "\x00" in request.path or "\x00" in request.query_string.decode("latin-1"):
        raise ApiError(400, "the URL contains a NUL character", code="structure")
    if any("\x00" in value for value in request.args.values()):
        raise ApiError(400, "the URL contains a NUL character", code="structure")


def _refuse_deep_json() -> None:
    """A JSON body nested deeper than the bound is a 400 before anything parses it (the parser recurses)."""
    if not request.is_json:
        return
    bounds: JsonBounds = current_app.extensions[JSON_BOUNDS]
    if too_deep(request.get_data(cache=True), bounds.max_json_depth):
        raise ApiError(400, f"the JSON body is nested deeper than {bounds.max_json_depth} levels", code="structure")


def _api_error(error: ApiError) -> tuple[Response, int]:
    return outcome_response(error.status, error.issues, error.code)


def _http_error(error: HTTPException) -> tuple[Response, int]:
    code = {404: "not-found", 405: "not-supported", 409: "conflict", 413: "too-costly",
            415: "structure"}.get(error.code or 500, "invalid")
    response, status = outcome_response(error.code or 500, [("", error.description or error.name)], code)
    allow = dict(error.get_headers()).get("Allow")  # a 405 must say which methods the URL takes (RFC 9110)
    if allow:
        response.headers["Allow"] = allow
    return response, status


def _unexpected(error: Exception) -> tuple[Response, int]:
    """A 500 that ops can trace: where it was raised, without what it said (``traceback_frames``)."""
    log.error("unhandled error", extra={"error": _qualified(type(error)), "path": request.path,
                                        "traceback": traceback_frames(error)}, exc_info=False)
    return outcome_response(500, [("", "internal error; the request was not applied")], "exception")


_ROOT = f"{Path(__file__).resolve().parents[1]}{os.sep}"


def traceback_frames(error: BaseException, max_chained: int = 5) -> list[str]:
    """The traceback of ``error`` and of the errors it was raised from or during, innermost call last, as
    ``file:line in function`` and each error's type: never the messages (``ValueError: invalid literal ...
    'Smith'``, a pydantic error's input, a SQL error's parameters can all carry patient data) nor locals."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < max_chained:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    lines: list[str] = []
    for link in reversed(chain):
        if lines:
            lines.append("-- then, while handling it --")
        lines += [f"{frame.filename.removeprefix(_ROOT)}:{frame.lineno} in {frame.name}"
                  for frame in traceback.extract_tb(link.__traceback__)]
        lines.append(f"raised {_qualified(type(link))}")
    return lines


def _qualified(kind: type[BaseException]) -> str:
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _healthz() -> Response:
    return jsonify(status="ok")


def _readyz() -> tuple[Response, int]:
    failing = {}
    checks: dict[str, ReadyCheck] = current_app.extensions[READY_CHECKS]
    for name, check in checks.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            failing[name] = type(error).__name__
    if failing:
        return jsonify(status="not ready", failing=failing), 503
    return jsonify(status="ready"), 200


def _metrics() -> Response:
    body, content_type = exposition()  # all gunicorn workers summed in multiprocess mode
    return Response(body, content_type=content_type)


def _start_timer() -> None:
    g.started = time.perf_counter()


def _record(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
    HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    return response
