"""Signed note → Provenance carrying the clinician's signature: target the DocumentReference (by its Ketalink
identifier), agent the signer as author, ``signature`` typed author's signature (1.2.840.10065.1.12.1.1) with the
prescriber's attestation as an extension (``prescriber-attestation``, the statement ticked when signing).
Provenance carries no Ketalink identifier (it records who did what; the target has one); its ``id`` is derived
from the note id instead, so the EHR writes it with ``PUT Provenance/{id}`` once however often it arrives."""

from __future__ import annotations

import uuid

from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.note import ProcedureNote
from services.documentation.translators import references
from services.documentation.translators.codes import (
    AUTHOR_PARTICIPANT, AUTHORS_SIGNATURE, PRESCRIBER_ATTESTATION_EXTENSION,
)
from shared.fhir.datatypes import FhirJson, codeable_concept, coding, instant, reference_by_identifier
from shared.fhir.validate import validate_resource

SIGNED_CONTENT_TYPE = "text/plain"
SIGNATURE_NAMESPACE = uuid.UUID("0b6f3c52-9d1e-4f0a-8a43-2c7e5b9d1f60")


def signature_provenance_id(note_id: str) -> str:
    return str(uuid.uuid5(SIGNATURE_NAMESPACE, f"procedure-note-signature/{note_id}"))


def signature_provenance(note: ProcedureNote) -> FhirJson:
    if not note.is_signed or note.signed_at is None or note.signed_by is None:
        raise TransitionNotAllowed(f"note {note.note_id} is not signed")
    signed_at = instant(note.signed_at)
    signer = references.person(note.signed_by)
    resource: FhirJson = {
        "resourceType": "Provenance",
        "id": signature_provenance_id(note.note_id),
        "target": [reference_by_identifier("DocumentReference", references.NOTE_KIND, note.note_id)],
        "recorded": signed_at,
        "agent": [{"type": codeable_concept(AUTHOR_PARTICIPANT), "who": signer}],
        "signature": [
            {
                "type": [coding(AUTHORS_SIGNATURE)],
                "when": signed_at,
                "who": signer,
                "targetFormat": SIGNED_CONTENT_TYPE,
            }
        ],
    }
    if note.attestation:  # what the prescriber attested when signing (shared/roles.py), with the signature
        resource["signature"][0]["extension"] = [{"url": PRESCRIBER_ATTESTATION_EXTENSION,
                                                  "valueString": note.attestation}]
    return validate_resource(resource)
