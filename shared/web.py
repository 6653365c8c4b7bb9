"""Flask glue every service uses: errors as FHIR OperationOutcome, health and readiness, Prometheus metrics.

Why one place: bad input must always get a clear 4xx with an OperationOutcome naming the field, and never a 500
with a stack trace, in every service alike.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from shared.config import load_settings
from shared.json_bounds import JsonBounds, too_deep
from shared.metrics import HTTP_REQUESTS, HTTP_SECONDS

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
    log.error("unhandled error", extra={"error": type(error).__name__, "path": request.path}, exc_info=False)
    return outcome_response(500, [("", "internal error; the request was not applied")], "exception")


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
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.started = time.perf_counter()


def _record(response: Response) -> Response:
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
    HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    return response
