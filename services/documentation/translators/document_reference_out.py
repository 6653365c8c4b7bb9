"""Procedure note version → DocumentReference (LOINC 28570-0, US Core category clinical-note, the text as a
base64 text/plain attachment, and for a signed note its PDF as a second attachment: application/pdf with its SHA-1
``hash`` and ``size``, made once at signing, ``handlers/note_pdf.py``). ``docStatus`` is preliminary for a draft, final for a signed first version and
amended for a signed amendment, whose ``relatesTo`` replaces → the previous version by its identifier."""

from __future__ import annotations

import base64

from services.documentation.domain.note import ProcedureNote
from services.documentation.translators import references
from services.documentation.translators.codes import CLINICAL_NOTE_CATEGORY
from shared.fhir.codes import PROCEDURE_NOTE
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant, reference_by_identifier
from shared.fhir.validate import validate_resource
from shared.pdf import PdfAttachment

CONTENT_TYPE = "text/plain; charset=utf-8"


def doc_status(note: ProcedureNote) -> str:
    if not note.is_signed:
        return "preliminary"
    return "amended" if note.replaces_note_id else "final"


def document_reference_from_note(note: ProcedureNote, pdf: PdfAttachment | None = None) -> FhirJson:
    """``pdf``: the signed note's PDF (a draft has none: a PDF of a draft could pass for the signed record)."""
    if pdf is not None and not note.is_signed:
        raise ValueError(f"note {note.note_id} is a draft: it has no PDF")
    written_at = note.signed_at or note.drafted_at
    resource: FhirJson = {
        "resourceType": "DocumentReference",
        "identifier": [identifier(references.NOTE_KIND, note.note_id)],
        "status": "current",
        "docStatus": doc_status(note),
        "type": codeable_concept(PROCEDURE_NOTE),
        "category": [codeable_concept(CLINICAL_NOTE_CATEGORY)],
        "subject": references.patient(note.patient_id),
        "date": instant(written_at),
        "author": [references.person(note.drafted_by)],
        "description": f"Ketamine infusion procedure note, version {note.version}",
        "content": [
            {
                "attachment": {
                    "contentType": CONTENT_TYPE,
                    "data": base64.b64encode(note.text.encode("utf-8")).decode("ascii"),
                    "title": f"Ketamine infusion procedure note v{note.version}",
                    "creation": instant(note.drafted_at),
                }
            }
        ],
        "context": {"encounter": [references.encounter(note.session_id)]},
    }
    if pdf is not None:
        resource["content"].append({"attachment": pdf.to_fhir()})
    if note.is_signed and note.signed_by is not None:
        resource["authenticator"] = references.person(note.signed_by)
    if note.replaces_note_id:
        resource["relatesTo"] = [
            {
                "code": "replaces",
                "target": reference_by_identifier("DocumentReference", references.NOTE_KIND, note.replaces_note_id),
            }
        ]
    return validate_resource(resource)
