"""The signed note's PDF (handlers/note_pdf.py, shared/pdf.py), read back with pypdf: its text is the signed text
with the patient's name, MRN and birth date, the ordered dose, the signer and the signed time; the same signed note
gives the same bytes; a draft has no PDF; and the note's DocumentReference carries it beside the text with the
SHA-1 hash and size FHIR R4 Attachment defines."""
from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import timezone

import pytest
from pypdf import PdfReader

from services.documentation.handlers.note_pdf import (
    PatientIdentity, UnsignedNoteNotPrintable, note_pdf_html, patient_identity, signed_note_pdf, text_sha256,
)
from services.documentation.translators.document_reference_out import document_reference_from_note
from shared.clinic_time import format_clinic_time
from shared.fhir.client import FhirUnavailable
from shared.roles import ATTESTATIONS

from .builders import CLINIC_TZ, DOCTOR, at
from .test_translate_session_resources import notes

IDENTITY = PatientIdentity("Avery Quinn", "1980-04-12", "KL-1001")


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _signed():
    from services.documentation.domain.note import sign_note

    draft, _, _ = notes()
    return sign_note(draft, DOCTOR, at(10, 45), attestation=ATTESTATIONS["sign-note"])


def test_the_pdf_says_the_signed_text_the_patient_the_dose_and_the_signature():
    note = _signed()
    pdf = signed_note_pdf(note, IDENTITY, CLINIC_TZ)
    assert pdf.data.startswith(b"%PDF-")
    text = _squash(_text(pdf.data))
    for line in note.text.splitlines():  # every line of the signed text, as signed
        assert _squash(line) in text, line
    assert "Avery Quinn" in text and "KL-1001" in text and "1980-04-12" in text
    assert "Ordered dose: 0.5 mg/kg" in text
    assert f"Signed by: {DOCTOR.display} ({DOCTOR.reference})" in text
    assert f"Signed at: {format_clinic_time(note.signed_at, CLINIC_TZ)}" in text
    assert _squash(ATTESTATIONS["sign-note"]) in text
    assert text_sha256(note.text) in text.replace(" ", "")


def test_the_same_signed_note_gives_the_same_bytes_and_its_creation_is_the_signing():
    note = _signed()
    first, again = signed_note_pdf(note, IDENTITY, CLINIC_TZ), signed_note_pdf(note, IDENTITY, CLINIC_TZ)
    assert first.data == again.data
    assert first.created == note.signed_at
    metadata = PdfReader(io.BytesIO(first.data)).metadata
    assert metadata.creation_date == note.signed_at.astimezone(timezone.utc)


def test_a_draft_has_no_pdf():
    draft, _, _ = notes()
    with pytest.raises(UnsignedNoteNotPrintable):
        note_pdf_html(draft, IDENTITY, CLINIC_TZ)
    with pytest.raises(ValueError):
        document_reference_from_note(draft, signed_note_pdf(_signed(), IDENTITY, CLINIC_TZ))


def test_without_the_patients_identity_the_pdf_says_so_and_names_the_ehr_id():
    note = _signed()
    text = _squash(_text(signed_note_pdf(note, None, CLINIC_TZ).data))
    assert "could not be read from the EHR" in text and note.patient_id in text


def test_an_unreachable_ehr_gives_no_identity():
    class Down:
        def read(self, *_args):
            raise FhirUnavailable(503, ["down"])

    assert patient_identity(Down(), "p-1") is None  # type: ignore[arg-type]


def test_the_document_reference_carries_the_pdf_beside_the_text():
    note = _signed()
    pdf = signed_note_pdf(note, IDENTITY, CLINIC_TZ)
    document = document_reference_from_note(note, pdf)
    text_attachment, pdf_attachment = (c["attachment"] for c in document["content"])
    assert base64.b64decode(text_attachment["data"]).decode("utf-8") == note.text
    assert pdf_attachment["contentType"] == "application/pdf"
    data = base64.b64decode(pdf_attachment["data"])
    assert data == pdf.data
    assert pdf_attachment["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert pdf_attachment["size"] == len(data)
    assert pdf_attachment["creation"] == "2026-03-02T10:45:00+01:00"
    assert pdf_attachment["title"].endswith("(PDF)")
    assert len(document_reference_from_note(note)["content"]) == 1


def test_a_note_whose_message_would_pass_the_brokers_limit_is_refused_before_signing():
    from services.documentation.domain.errors import DocumentationInputError
    from services.documentation.handlers.note_pdf import MESSAGE_FOCUS_MAX_BYTES, require_message_fits

    note = _signed()
    fits = document_reference_from_note(note, signed_note_pdf(note, IDENTITY, CLINIC_TZ))
    require_message_fits([fits])
    too_big = {**fits, "description": "x" * MESSAGE_FOCUS_MAX_BYTES}
    with pytest.raises(DocumentationInputError) as refused:
        require_message_fits([too_big])
    assert refused.value.field == "text" and "shorten it" in refused.value.message


def test_a_signed_amendment_has_its_own_pdf_naming_the_note_it_replaces():
    _, signed, amendment = notes()
    text = _squash(_text(signed_note_pdf(amendment, IDENTITY, CLINIC_TZ).data))
    assert "version 2 (amendment)" in text and f"Replaces the signed note {signed.note_id}" in text
    assert "Addendum." in text
    assert signed_note_pdf(amendment, IDENTITY, CLINIC_TZ).data != signed_note_pdf(signed, IDENTITY, CLINIC_TZ).data
