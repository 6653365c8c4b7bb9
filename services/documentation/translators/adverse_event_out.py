"""Adverse event record → AdverseEvent (R4 shape): actuality ``actual``, event (local code), subject, encounter,
date, seriousness, severity, outcome, recorder, and suspectEntity → the session's MedicationAdministration once
one is recorded (before that, e.g. an event that stopped the infusion before the record was written, there is no
resource to point at: the EHR could not resolve the reference).

R4 AdverseEvent has no element for the action taken; it goes in ``event.text`` with the description so the EHR
shows it, and in the procedure note."""

from __future__ import annotations

from services.documentation.domain.adverse_events import AdverseEventKind, AdverseEventRecord
from services.documentation.translators import references
from services.documentation.translators.codes import (
    ADVERSE_EVENT_KIND_CODES,
    ADVERSE_EVENT_OUTCOME,
    ADVERSE_EVENT_SEVERITY,
    NON_SERIOUS,
    SERIOUS,
)
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant
from shared.fhir.validate import validate_resource


def adverse_event_resource(
    session_id: str, patient_id: str, event: AdverseEventRecord, administration_recorded: bool = True
) -> FhirJson:
    """R4 AdverseEvent.identifier is a single Identifier (0..1), not a list."""
    text = event.label()
    if event.kind is not AdverseEventKind.OTHER and event.description:
        text += f": {event.description}"
    if event.action_taken:
        text += f" (action: {event.action_taken})"
    resource: FhirJson = {
        "resourceType": "AdverseEvent",
        "identifier": identifier(references.ADVERSE_EVENT_KIND, references.child_value(session_id, event.event_id)),
        "actuality": "actual",
        "event": codeable_concept(ADVERSE_EVENT_KIND_CODES[event.kind], text),
        "subject": references.patient(patient_id),
        "encounter": references.encounter(session_id),
        "date": instant(event.onset_at),
        "recorder": references.person(event.recorded_by),
        "seriousness": codeable_concept(SERIOUS if event.serious else NON_SERIOUS),
        "severity": {"coding": [{"system": ADVERSE_EVENT_SEVERITY, "code": event.severity.value}]},
        "outcome": {"coding": [{"system": ADVERSE_EVENT_OUTCOME, "code": event.outcome.value}]},
    }
    if administration_recorded:
        resource["suspectEntity"] = [{"instance": references.administration(session_id)}]
    return validate_resource(resource)
