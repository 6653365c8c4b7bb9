"""The intake's treatment Consent (``intake-eligibility-decided``) → whether consent is on file for an intake."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.fhir.datatypes import find_identifier
from shared.errors import FhirMappingError
from shared.fhir.reading import patient_id_of, validated
from services.orders.translators.codes import KIND_CONSENT


@dataclass(frozen=True)
class ConsentRecord:
    intake_id: str
    patient_id: str
    given: bool  # Consent.status active; rejected / proposed / anything else means not on file


def consent_from_resource(consent: dict[str, Any]) -> ConsentRecord:
    resource = validated(consent, "Consent")
    intake_id = find_identifier(resource, KIND_CONSENT)
    if not intake_id:
        raise FhirMappingError("Consent.identifier", "the Ketalink consent identifier is missing")
    patient_id = patient_id_of(resource.get("patient"), "Consent.patient")
    return ConsentRecord(intake_id, patient_id, resource.get("status") == "active")
