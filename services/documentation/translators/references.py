"""Identifier kinds and references shared by the documentation translators, so every resource is keyed the same
way (``shared.fhir.datatypes.identifier(kind, value)``) and a redelivered message updates instead of duplicating."""

from __future__ import annotations

from shared.fhir.codes import KIND_ORDER, KIND_SERIES
from shared.fhir.datatypes import FhirJson, reference, reference_by_identifier
from shared.people import Person

ORDER_KIND = KIND_ORDER  # MedicationRequest (the orders contract's identifier kind)
SERIES_KIND = KIND_SERIES  # CarePlan (the orders contract's identifier kind)
SESSION_KIND = "infusion-session"  # Encounter: the visit
INFUSION_KIND = "infusion"  # Procedure: the infusion
ADMINISTRATION_KIND = "infusion-administration"  # MedicationAdministration
DRUG_LOT_KIND = "drug-lot"  # contained Medication
VITAL_SIGN_KIND = "vital-sign"  # vitals Observations
CADSS_KIND = "cadss"  # CADSS Observation
ALERT_KIND = "infusion-alert"  # Flag
ADVERSE_EVENT_KIND = "adverse-event"  # AdverseEvent
NOTE_KIND = "procedure-note"  # DocumentReference, one per note version
RESCUE_ADMINISTRATION_KIND = "rescue-administration"  # MedicationAdministration of a rescue medication
FOLLOW_UP_KIND = "follow-up-call"  # Task: the next-day call


def patient(patient_id: str) -> FhirJson:
    return reference("Patient", patient_id)


def person(who: Person) -> FhirJson:
    """Who did something: the clinician's ``Practitioner/<id>`` reference with their name (``shared.people``); a
    record stored before people were references gives its name only."""
    return who.fhir_reference()


def encounter(session_id: str) -> FhirJson:
    return reference_by_identifier("Encounter", SESSION_KIND, session_id)


def administration(session_id: str) -> FhirJson:
    return reference_by_identifier("MedicationAdministration", ADMINISTRATION_KIND, session_id)


def child_value(session_id: str, *parts: str) -> str:
    """Identifier value of a record inside a session: ``{session_id}/{part}/...``."""
    return "/".join((session_id,) + parts)
