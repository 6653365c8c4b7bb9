"""FHIR R4 datatype builders and readers, shared by every translator (one place for Quantity, CodeableConcept,
Reference, Identifier and instants), so each resource translator only says what goes where."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from shared.fhir.codes import UCUM, Code, identifier_system

FhirJson = dict[str, Any]


def coding(code: Code) -> FhirJson:
    return {"system": code.system, "code": code.code, "display": code.display}


def codeable_concept(code: Code, text: str | None = None) -> FhirJson:
    concept: FhirJson = {"coding": [coding(code)]}
    if text:
        concept["text"] = text
    return concept


def has_coding(concept: FhirJson | None, code: Code) -> bool:
    """True when the CodeableConcept carries ``code`` (same system and code). A ``"coding": null`` passes the
    structural validation, so it is read as no coding."""
    return any(
        isinstance(c, dict) and c.get("system") == code.system and c.get("code") == code.code
        for c in (concept or {}).get("coding") or []
    )


def quantity(value: float | int | Decimal, unit: str, display_unit: str | None = None) -> FhirJson:
    """A UCUM Quantity; ``unit`` is the UCUM code, ``display_unit`` what a person reads (defaults to the code)."""
    return {"value": _number(value), "unit": display_unit or unit, "system": UCUM, "code": unit}


def read_quantity(q: FhirJson | None, expected_unit: str) -> float | None:
    """The numeric value of a Quantity in ``expected_unit``; None when absent. A different unit is an error so that
    a value is never silently read in the wrong unit."""
    if not q or q.get("value") is None:
        return None
    unit = q.get("code") or q.get("unit")
    if unit != expected_unit:
        raise ValueError(f"expected unit {expected_unit!r}, got {unit!r}")
    return float(q["value"])


def reference(resource_type: str, resource_id: str, display: str | None = None) -> FhirJson:
    ref: FhirJson = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        ref["display"] = display
    return ref


def reference_by_identifier(resource_type: str, kind: str, value: str) -> FhirJson:
    """A logical reference (``Reference.identifier``): the EHR's integration engine resolves it to the resource
    that carries this Ketalink identifier, so a service never needs the EHR's server-assigned id."""
    return {"type": resource_type, "identifier": identifier(kind, value)}


def reference_id(ref: FhirJson | None, resource_type: str) -> str | None:
    """The id in a literal reference ``Type/id`` (also absolute URLs ending in it); None when not of that type."""
    text = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(text, str):
        return None
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    if len(parts) >= 4 and parts[-4] == resource_type and parts[-2] == "_history":
        return parts[-3]
    return None


def identifier(kind: str, value: str) -> FhirJson:
    return {"system": identifier_system(kind), "value": value}


def find_identifier(resource: FhirJson, kind: str) -> str | None:
    system = identifier_system(kind)
    for ident in resource.get("identifier", []) or []:
        if ident.get("system") == system:
            return ident.get("value")
    return None


def instant(moment: datetime) -> str:
    """An ISO instant with timezone; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


def parse_instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def fhir_date(day: date) -> str:
    return day.isoformat()


def _number(value: float | int | Decimal) -> float | int:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
