"""Reading pieces shared by the translators-in of every service: structural validation first, then FHIR elements
read with an error that names the element (FHIRPath) when it is missing or in a unit that cannot be converted."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any

from shared.fhir.codes import identifier_system
from shared.errors import FhirMappingError, Violation
from shared.fhir.datatypes import FhirJson, parse_instant, reference_id
from shared.fhir.validate import FhirValidationError, validate_resource
from shared.fhir.vital_signs import effective_text


def validated(resource: Any, resource_type: str) -> FhirJson:
    """``resource`` after structural validation; FhirMappingError naming every failing element otherwise."""
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        found = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        raise FhirMappingError("resourceType", f"expected a {resource_type}, got {found!r}")
    try:
        return validate_resource(resource)
    except FhirValidationError as error:
        raise FhirMappingError.from_violations([Violation(where, what) for where, what in error.issues]) from None


def the_only(resources: list[FhirJson], resource_type: str) -> FhirJson:
    """The one ``resource_type`` among a message's focus resources, validated; FhirMappingError naming
    ``Bundle.entry`` when there is none or more than one."""
    found = [r for r in resources if r.get("resourceType") == resource_type]
    if len(found) != 1:
        raise FhirMappingError("Bundle.entry", f"expected one {resource_type}, found {len(found)}")
    return validated(found[0], resource_type)


def converted_quantity(quantity: FhirJson | None, path: str, converters: dict[str, Callable[[float], float]]) -> float:
    """The Quantity's value converted by the converter for its UCUM code; an unknown unit is an error so a value
    is never read in the wrong unit."""
    if not quantity or quantity.get("value") is None:
        raise FhirMappingError(path, "a value is required")
    unit = quantity.get("code") or quantity.get("unit")
    if unit not in converters:
        allowed = " or ".join(converters)
        raise FhirMappingError(path, f"unit {unit!r} cannot be used here; expected {allowed}")
    return converters[unit](float(quantity["value"]))


def patient_id_of(subject: FhirJson | None, path: str) -> str:
    """The EHR Patient id of a literal ``Patient/{id}`` reference (the contract's subject form)."""
    patient_id = reference_id(subject, "Patient")
    if not patient_id:
        raise FhirMappingError(path, "a literal Patient reference is required")
    return patient_id


def moment(text: str | None, path: str) -> datetime:
    """A FHIR dateTime or instant; a JSON number there (which the structural validation coerces) is refused too."""
    if not text:
        raise FhirMappingError(path, "a date and time is required")
    if not isinstance(text, str):
        raise FhirMappingError(path, "a date and time must be a JSON string")
    return parse_instant(text)


def day(text: str | None, path: str, zone: tzinfo) -> date:
    """The calendar day of a FHIR date, or of a dateTime as seen in ``zone`` (the clinic's)."""
    if not text:
        raise FhirMappingError(path, "a date is required")
    return date.fromisoformat(text) if len(text) == 10 else parse_instant(text).astimezone(zone).date()


def effective_time(observation: FhirJson) -> datetime:
    """When the Observation was measured: effectiveDateTime, effectiveInstant, or the start of effectivePeriod."""
    return moment(effective_text(observation), "Observation.effective[x]")


def first_coding(concept: FhirJson | None, preferred_system: str) -> FhirJson | None:
    """The coding in ``preferred_system`` when there is one, else the first coding."""
    codings = (concept or {}).get("coding") or []
    return next((c for c in codings if c.get("system") == preferred_system), codings[0] if codings else None)


def referenced_identifier(references: list[FhirJson] | None, kind: str) -> str | None:
    """The value of the first logical reference (``Reference.identifier``) carrying a Ketalink ``kind`` id."""
    system = identifier_system(kind)
    for ref in references or []:
        ident = ref.get("identifier") or {}
        if ident.get("system") == system:
            return ident.get("value")
    return None
