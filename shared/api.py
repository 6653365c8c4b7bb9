"""Declaring a service's JSON API once: Flask routing, request-body validation with pydantic (4xx OperationOutcome
naming each bad field) and the OpenAPI 3 document (built with apispec and served at ``/openapi.json``)."""
from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar


from apispec import APISpec
from flask import Blueprint, Flask, Response, current_app, jsonify, make_response, request
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy.engine import Engine

from shared import idempotency
from shared.config import load_settings
from shared.idempotency import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH
from shared.json_bounds import JsonBounds, array_over
from shared.openapi import AUTH_RESPONSES, SECURITY_SCHEMES, Documented, add_links, ids_given, security_for
from shared.record_schema import Answer
from shared.web import JSON_BOUNDS, ApiError, json_object


OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                   "issue": {"type": "array", "items": {"type": "object"}}},
}


class RequestModel(BaseModel):
    """Base for request bodies: unknown fields are refused, so a typo is an error, not a silently lost value.

    Every value is also held to what FHIR and the stores can carry, before anything is stored: no NUL character in
    text (PostgreSQL refuses it in text and FHIR strings may not hold it) and no time whose UTC offset lies beyond
    ±14:00 (not a FHIR dateTime: the EHR would refuse the record later, leaving it stuck)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check_storable(value)
        return value


MAX_UTC_OFFSET = timedelta(hours=14)


def _check_storable(value: Any) -> None:
    """Raise ValueError for a NUL character or an out-of-range UTC offset anywhere in ``value``."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain the NUL character")
    elif isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValueError("the UTC offset must lie within -14:00 and +14:00 (a FHIR dateTime)")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)


V = TypeVar("V", bound=Callable[..., Any])
#: Path parameters an answer can give the next operation (links): the ids the services issue. Not the patient's:
#: a client has it from the launch context, and the patient's lists are where a sequence starts.
ID_PARAMETERS = ("intake_id", "order_id", "course_id", "session_id", "note_id", "alert_id", "referral_id")


class Operations:
    """The operations of one service's API, declared next to their module-level views at import; ``register``
    puts them on the app's ``Api`` once it exists (it needs the database the Idempotency-Key answers are kept
    in, which is made when the app is built)."""

    def __init__(self, answers: Mapping[str, Answer] | None = None) -> None:
        """``answers``: each view's success answer by the view's name (the service's ``answers.py``)."""
        self._declared: list[tuple[str, str, dict[str, Any], Callable[..., Any]]] = []
        self._answers = dict(answers or {})

    def operation(self, rule: str, method: str, **declaration: Any) -> Callable[[V], V]:
        """Declare ``view`` as ``method rule`` with ``Api.operation``'s keyword arguments."""

        def declare(view: V) -> V:
            self._declared.append((rule, method, declaration, view))
            return view

        return declare

    def register(self, api: Api) -> Api:
        """Every declared operation on ``api``, in the order declared (the OpenAPI document keeps it)."""
        for rule, method, declaration, view in self._declared:
            if view.__name__ in self._answers:
                declaration = {"response": self._answers[view.__name__], **declaration}
            api.operation(rule, method, **declaration)(view)
        return api


class Api:
    """One service's API. With an ``engine``, operations declared ``idempotent`` honour an ``Idempotency-Key``
    header: a retried request with the same key gets the first answer again and changes nothing."""

    def __init__(self, title: str, version: str, description: str, engine: Engine | None = None):
        self._engine = engine
        self._max_items = load_settings(JsonBounds, "KETALINK_").max_json_array_items
        self.spec = APISpec(title=title, version=version, openapi_version="3.1.0", info={"description": description})
        self.spec.components.schema("OperationOutcome", OUTCOME_SCHEMA)
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, copy.deepcopy(scheme))
        self.blueprint = Blueprint("api", __name__)
        self._documented: list[Documented] = []

    def operation(self, rule: str, method: str, *, summary: str, body: type[RequestModel] | None = None,
                  success_status: int = 200, errors: tuple[int, ...] = (400, 404), tag: str = "api",
                  idempotent: bool = False, media_type: str = "application/json", response: Answer | None = None,
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``rule`` for ``method``; the view gets the validated body model as ``body`` when one is given.
        ``media_type`` is what a success answer is documented as (e.g. ``application/fhir+json``, ``text/csv``),
        ``response`` its schema (``shared/record_schema.py``)."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def wrapper(**path_args: Any) -> Any:
                key = request.headers.get(IDEMPOTENCY_HEADER) if idempotent and self._engine else None
                operation = f"{method} {request.path}"
                if key and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
                    raise ApiError(400, f"{IDEMPOTENCY_HEADER} must be at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
                                   expression=IDEMPOTENCY_HEADER)
                if key:
                    digest = _request_digest()
                    replayed = idempotency.replay(self._engine, key, operation, digest)  # type: ignore[arg-type]
                    if replayed is not None:
                        return replayed
                    idempotency.begin(key, operation, digest)
                if body is not None:
                    path_args["body"] = parse_body(body)
                try:
                    response = make_response(view(**path_args))
                except Exception:
                    if key:
                        idempotency.forget(self._engine)  # type: ignore[arg-type]
                    raise
                if key and response.status_code < 300:
                    idempotency.remember(self._engine, response)  # type: ignore[arg-type]
                elif key:
                    idempotency.forget(self._engine)  # type: ignore[arg-type]
                return response

            self.blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
            self._document(rule, method, summary, body, success_status, errors, tag, view, idempotent,
                           media_type, response)
            return wrapper

        return decorate

    def install(self, app: Flask) -> None:
        app.register_blueprint(self.blueprint)
        document = self.spec.to_dict()
        add_links(document, self._documented)
        app.extensions[OPENAPI_DOCUMENT] = document
        app.add_url_rule("/openapi.json", "openapi", _openapi, methods=["GET"])

    def _document(self, rule: str, method: str, summary: str, body: type[RequestModel] | None,
                  success_status: int, errors: tuple[int, ...], tag: str, view: Callable[..., Any],
                  idempotent: bool = False, media_type: str = "application/json",
                  response: Answer | None = None) -> None:
        doc = view.__doc__
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in re.findall(r"{([a-z_]+)}", path)]
        if idempotent:
            parameters.append({"name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                               "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
                               "description": "Repeat a request safely: the same key gets the first answer again "
                                              "(a key reused for a different request body: 422; the first request "
                                              "still being handled, or applied without a stored answer: 409)."})
            errors = tuple(set(errors) | {409, 422})
        if response is not None and response.name not in self.spec.components.schemas:
            self.spec.components.schema(response.name, response.schema)
        success = ({"$ref": f"#/components/schemas/{response.name}"} if response is not None
                   else {"type": "object"} if media_type.endswith("json") else {"type": "string"})
        operation: dict[str, Any] = {
            "operationId": view.__name__, "summary": summary, "tags": [tag], "parameters": parameters,
            "security": security_for(view),
            "responses": {str(success_status): {"description": "OK", "content": {media_type: {"schema": success}}},
                          **copy.deepcopy(AUTH_RESPONSES)},
        }
        if response is not None:
            names = [p["name"] for p in parameters if p["in"] == "path"]
            self._documented.append(Documented(
                view.__name__, path, method.lower(), str(success_status), tuple(names),
                ids_given(success, self.spec.components.schemas, ID_PARAMETERS)))
        if doc:
            operation["description"] = inspect.cleandoc(doc)
        for status in sorted(set(errors) | {400}):
            operation["responses"].setdefault(str(status), {
                "description": "Refused, with the reason",
                "content": {"application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}})
        if body is not None:
            name = body.__name__
            if name not in self.spec.components.schemas:
                schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
                _bound_arrays(schema, self._max_items)
                for def_name, definition in schema.pop("$defs", {}).items():
                    if def_name not in self.spec.components.schemas:
                        self.spec.components.schema(def_name, definition)
                self.spec.components.schema(name, schema)
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"}}}}
        self.spec.path(path=path, operations={method.lower(): operation})


def _bound_arrays(schema: Any, max_items: int) -> None:
    """Every array the document declares without a bound gets the edge's (``parse_body`` enforces it)."""
    if isinstance(schema, dict):
        if schema.get("type") == "array":
            schema.setdefault("maxItems", max_items)
        for value in schema.values():
            _bound_arrays(value, max_items)
    elif isinstance(schema, list):
        for value in schema:
            _bound_arrays(value, max_items)


def _request_digest() -> str:
    """SHA-256 of the request body, of its canonical JSON when it is JSON: a retry that serialises the same body
    with other spacing or key order is still the same request."""
    raw = request.get_data()
    try:
        raw = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass
    return hashlib.sha256(raw).hexdigest()


def parse_body(model: type[RequestModel]) -> RequestModel:
    """The body by JSON's own types, strictly, as the OpenAPI document declares them: a number is not a date-time
    (lax parsing took ``"signed_at": 0`` as 1970), ``"5"`` is not an integer, ``1`` is not ``true``."""
    data = json_object()
    bounds: JsonBounds = current_app.extensions.get(JSON_BOUNDS) or JsonBounds()
    too_long = array_over(data, bounds.max_json_array_items)
    if too_long is not None:  # before the items: pydantic checks a list's length only after validating every item
        raise ApiError(400, f"at most {bounds.max_json_array_items} items are accepted in an array, not "
                            f"{too_long[1]}", code="too-costly", expression=too_long[0])
    try:
        return model.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as error:
        issues = [(_field_path(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        raise ApiError(400, issues[0][1], issues=issues) from None


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


OPENAPI_DOCUMENT = "ketalink.openapi"


def _openapi() -> Response:
    """The service's OpenAPI document, built once when the app is."""
    return jsonify(current_app.extensions[OPENAPI_DOCUMENT])
