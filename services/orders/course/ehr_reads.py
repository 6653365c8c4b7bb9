"""The course's reads from the EHR's FHIR API (with the service's own token): the patient's birth date, for the
outcomes export's age bands only."""
from __future__ import annotations

from datetime import date

from shared.fhir.capabilities import read
from shared.fhir.client import FhirClient, FhirNotFound

# What these reads need of the EHR, checked with the orders service's at start-up (shared/fhir/capabilities.py).
EHR_NEEDS = (read("Patient", "the outcomes export's age bands"),)


def birth_date(ehr: FhirClient, patient_id: str) -> date | None:
    """The Patient's ``birthDate`` when the EHR has a full date; None for an unknown patient or a partial date (a
    year or year-month gives no exact age)."""
    try:
        text = ehr.read("Patient", patient_id).get("birthDate")
    except FhirNotFound:
        return None
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None
