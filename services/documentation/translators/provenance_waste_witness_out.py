"""Controlled-substance record → Provenance of the waste and its witness (the FHIR shape chosen: README "FHIR
shapes"). The amounts travel on the infusion's MedicationAdministration (``dosage.dose`` is given; the Ketalink
extension ``controlled-substance-accounting`` holds drawn and wasted with product and lot); this Provenance says
who accounted for them: the nurse as ``performer`` (the signed-in clinician, by reference when known) and the
second licensed person as ``WIT`` witness (v3 ParticipationType; a Practitioner reference or an identifier), at
the time the waste was witnessed. Like the signature Provenance it has no Ketalink identifier; its ``id`` is
derived from the session, so the EHR writes it once however often session-completed is re-sent."""

from __future__ import annotations

import uuid

from services.documentation.domain.controlled_substance import PersonIdentity
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.session import Session
from services.documentation.translators import references
from services.documentation.translators.codes import PERFORMER_PARTICIPANT, WITNESS_PARTICIPANT
from shared.fhir.datatypes import FhirJson, codeable_concept, instant
from shared.fhir.validate import validate_resource

WITNESS_NAMESPACE = uuid.UUID("5d2f1e0a-7c43-4b8e-9f61-3a0c2d9e8b17")


def waste_witness_provenance_id(session_id: str) -> str:
    return str(uuid.uuid5(WITNESS_NAMESPACE, f"controlled-substance-waste/{session_id}"))


def person_reference(person: PersonIdentity) -> FhirJson:
    """A Practitioner reference from the EHR, or an identifier (with the name when one was given)."""
    if person.reference:
        found: FhirJson = {"reference": person.reference}
    else:
        found = {"identifier": {"system": person.identifier_system, "value": person.identifier_value}}
    if person.display:
        found["display"] = person.display
    return found


def waste_witness_provenance(session: Session) -> FhirJson:
    record = session.controlled_substance
    if record is None:
        raise DocumentationInputError("controlled_substance", "no controlled-substance record for this session")
    nurse = references.person(record.recorded_by)
    resource: FhirJson = {
        "resourceType": "Provenance",
        "id": waste_witness_provenance_id(session.session_id),
        "target": [references.administration(session.session_id)],
        "occurredDateTime": instant(record.witnessed_at),
        "recorded": instant(record.recorded_at),
        "activity": {"text": f"controlled-substance waste: {record.describe()}"},
        "agent": [
            {"type": codeable_concept(PERFORMER_PARTICIPANT), "who": nurse},
            {"type": codeable_concept(WITNESS_PARTICIPANT), "who": person_reference(record.witness)},
        ],
    }
    return validate_resource(resource)
