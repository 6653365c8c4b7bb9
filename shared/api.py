"""Declaring a service's JSON API once: Flask routing, request-body validation with pydantic (4xx OperationOutcome
naming each bad field) and the OpenAPI 3 document (built with apispec and served at ``/openapi.json``)."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Blueprint, Flask, jsonify
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.web import ApiError, json_object

OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {"resourceType": {"type": "string", "enum": ["OperationOutcome"]},
                   "issue": {"type": "array", "items": {"type": "object"}}},
}


class RequestModel(BaseModel):
    """Base for request bodies: unknown fields are refused, so a typo is an error, not a silently lost value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Api:
    def __init__(self, title: str, version: str, description: str):
        self.spec = APISpec(title=title, version=version, openapi_version="3.0.3", info={"description": description})
        self.spec.components.schema("OperationOutcome", OUTCOME_SCHEMA)
        self.blueprint = Blueprint("api", __name__)

    def operation(self, rule: str, method: str, *, summary: str, body: type[RequestModel] | None = None,
                  success_status: int = 200, errors: tuple[int, ...] = (400, 404), tag: str = "api"
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``rule`` for ``method``; the view gets the validated body model as ``body`` when one is given."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def wrapper(**path_args: Any) -> Any:
                if body is not None:
                    path_args["body"] = parse_body(body)
                return view(**path_args)

            self.blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
            self._document(rule, method, summary, body, success_status, errors, tag, view.__doc__)
            return wrapper

        return decorate

    def install(self, app: Flask) -> None:
        app.register_blueprint(self.blueprint)
        document = self.spec.to_dict()

        @app.get("/openapi.json")
        def openapi():  # type: ignore[no-untyped-def]
            return jsonify(document)

    def _document(self, rule: str, method: str, summary: str, body: type[RequestModel] | None,
                  success_status: int, errors: tuple[int, ...], tag: str, doc: str | None) -> None:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)
        parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                      for name in re.findall(r"{([a-z_]+)}", path)]
        operation: dict[str, Any] = {
            "summary": summary, "tags": [tag], "parameters": parameters,
            "responses": {str(success_status): {"description": "OK", "content": {"application/json": {
                "schema": {"type": "object"}}}}},
        }
        if doc:
            operation["description"] = doc.strip()
        for status in sorted(set(errors) | {400}):
            operation["responses"][str(status)] = {
                "description": "Refused, with the reason",
                "content": {"application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}}
        if body is not None:
            name = body.__name__
            if name not in self.spec.components.schemas:
                schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
                for def_name, definition in schema.pop("$defs", {}).items():
                    if def_name not in self.spec.components.schemas:
                        self.spec.components.schema(def_name, definition)
                self.spec.components.schema(name, schema)
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"}}}}
        self.spec.path(path=path, operations={method.lower(): operation})


def parse_body(model: type[RequestModel]) -> RequestModel:
    data = json_object()
    try:
        return model.model_validate(data)
    except ValidationError as error:
        issues = [(_field_path(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        raise ApiError(400, issues[0][1], issues=issues) from None


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
