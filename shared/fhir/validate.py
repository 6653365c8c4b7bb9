"""Structural validation with the fhir.resources R4B models (R4B matches R4 for the resources used here).

It checks structure only (unknown fields, types, cardinality); translators check codes and profile rules."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from fhir.resources.R4B import get_fhir_model_class


class FhirValidationError(ValueError):
    """A resource failed validation; ``issues`` holds (FHIRPath-like location, message) pairs."""

    def __init__(self, issues: list[tuple[str, str]]):
        self.issues = issues
        super().__init__("; ".join(f"{where}: {what}" for where, what in issues))


def validate_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate ``resource`` and return it unchanged; raise FhirValidationError naming each failing field."""
    if not isinstance(resource, dict):
        raise FhirValidationError([("$", "a FHIR resource must be a JSON object")])
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        raise FhirValidationError([("resourceType", "missing")])
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError):
        raise FhirValidationError([("resourceType", f"unknown resource type {resource_type!r}")]) from None
    try:
        model.model_validate(resource)
    except ValidationError as error:
        raise FhirValidationError(
            [(_location(resource_type, e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        ) from None
    return resource


def _location(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
