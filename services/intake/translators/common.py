"""Reading helpers shared by the translators-in: structure check, subject, times and codings."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from shared.errors import FhirMappingError
from shared.fhir.datatypes import parse_instant, reference_id
from shared.fhir.validate import validate_resource

FhirJson = dict[str, Any]
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def validated(resource: FhirJson, resource_type: str) -> FhirJson:
    """``resource`` after the R4B structure check (FhirValidationError), refusing another resource type."""
    validate_resource(resource)
    if resource["resourceType"] != resource_type:
        raise FhirMappingError("resourceType", f"expected {resource_type}, got {resource['resourceType']}")
    return resource


def subject_patient_id(reference: FhirJson | None, location: str) -> str:
    patient_id = reference_id(reference, "Patient")
    if not patient_id:
        raise FhirMappingError(location, "a literal Patient reference (Patient/{id}) is required")
    return patient_id


def fhir_datetime(text: str | None, location: str) -> datetime:
    """A FHIR dateTime/instant as an aware datetime (a plain date is taken as midnight UTC)."""
    if not text:
        raise FhirMappingError(location, "a date-time is required")
    try:
        return parse_instant(text)
    except ValueError:
        raise FhirMappingError(location, f"{text!r} is not a full date or date-time") from None


def day_or_none(text: str | None, location: str) -> date | None:
    """The calendar day of a FHIR date/dateTime; None when absent or partial (a year or year-month is read as an
    unknown day rather than guessed). A malformed value is an error."""
    if not text:
        return None
    match = _DATE.match(text[:10])
    if not match:
        raise FhirMappingError(location, f"{text!r} is not a FHIR date")
    if match.group(3) is None:
        return None
    return date.fromisoformat(text[:10])


def partial_date(text: str) -> tuple[int, int | None, int | None]:
    """A FHIR date that may be partial (YYYY, YYYY-MM, YYYY-MM-DD) as (year, month, day)."""
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a FHIR date")
    year, month, day = match.groups()
    return int(year), int(month) if month else None, int(day) if day else None


def first_coding(concept: FhirJson | None, system: str) -> FhirJson | None:
    return next((c for c in (concept or {}).get("coding", []) if c.get("system") == system), None)
