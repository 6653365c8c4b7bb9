"""The signed procedure note as a PDF: made once, when the note is signed, from the signed text exactly, with the
signature block (who signed, when, what they attested) and the patient's name, date of birth and MRN on its first
page and in every page's header. It is stored beside the note and sent to the EHR in the note's DocumentReference;
it is never made again (a redelivery sends the stored bytes).

Only a signed note has a PDF: ``signed_note_pdf`` refuses a draft, so no printout of a draft can look signed.
The patient's identity is read from the EHR with the service's own client at signing; when the EHR cannot give it,
the PDF says so in a box and names the EHR patient id instead, and signing goes on (the signed record must not
wait for a printout)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from kafka import KafkaProducer

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.note import ProcedureNote
from shared.clinic_time import format_clinic_time
from shared.fhir.client import FhirClient, FhirError
from shared.fhir.datatypes import FhirJson
from shared.pdf import PdfAttachment, render_pdf
from shared.ui.banner import medical_record_number

# The outbox relay's producer keeps kafka-python's request size limit (shared/events/kafka_clients.py sets none):
# 1 MiB, as Apache Kafka's broker default message.max.bytes. The note's resources must leave room for the Bundle's
# MessageHeader and the record's overhead. The longest note the API takes (100,000 characters, 4-byte ones) makes
# about 610 kB with its PDF (docs/performance.md, "Printable documents").
KAFKA_MAX_REQUEST_BYTES: int = KafkaProducer.DEFAULT_CONFIG["max_request_size"]
MESSAGE_FOCUS_MAX_BYTES = KAFKA_MAX_REQUEST_BYTES * 9 // 10

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                           undefined=StrictUndefined)


class UnsignedNoteNotPrintable(ValueError):
    """A draft has no PDF: a printout of it could pass for the signed record."""


@dataclass(frozen=True)
class PatientIdentity:
    """What a printed page needs to be filed under the right patient (two identifiers: name and MRN or birth date)."""

    name: str
    birth_date: str | None
    mrn: str | None


def patient_identity(ehr: FhirClient, patient_id: str, mrn_system: str = "") -> PatientIdentity | None:
    """The patient as the EHR has them; None when the EHR cannot say (the PDF then says so)."""
    try:
        patient = ehr.read("Patient", patient_id)
    except FhirError:
        return None
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
    birth_date = patient.get("birthDate")
    return PatientIdentity(text or "(no name recorded in the EHR)",
                           birth_date if isinstance(birth_date, str) else None,
                           medical_record_number(patient, mrn_system))


def text_sha256(text: str) -> str:
    """The fingerprint the PDF prints under the signature: the SHA-256 of the signed text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def note_pdf_html(note: ProcedureNote, identity: PatientIdentity | None, zone: tzinfo) -> str:
    if not note.is_signed or note.signed_by is None or note.signed_at is None:
        raise UnsignedNoteNotPrintable(f"note {note.note_id} is not signed: only a signed note is printed")
    who = (f"{identity.name}, born {identity.birth_date or 'not recorded'}, MRN {identity.mrn or 'none'}"
           if identity else f"EHR patient id {note.patient_id} (name not available)")
    signed_at = format_clinic_time(note.signed_at, zone)
    return _environment.get_template("documentation/note_pdf.html").render(
        note=note, identity=identity, title=f"Ketamine infusion procedure note v{note.version}",
        header_line=f"Ketamine infusion procedure note · {who}",
        footer_line=f"Note {note.note_id} v{note.version} · signed {signed_at} by {note.signed_by.display}",
        signed_at=signed_at, drafted_at=format_clinic_time(note.drafted_at, zone), text_sha256=text_sha256(note.text))


def signed_note_pdf(note: ProcedureNote, identity: PatientIdentity | None, zone: tzinfo) -> PdfAttachment:
    """The note's PDF; the same signed note and identity give the same bytes (created = signed at)."""
    html = note_pdf_html(note, identity, zone)
    assert note.signed_at is not None  # note_pdf_html refused an unsigned note
    title = f"Ketamine infusion procedure note v{note.version} (PDF)"
    data = render_pdf(html, key=f"note/{note.note_id}", created=note.signed_at, title=title)
    return PdfAttachment(data, title, note.signed_at)


def require_message_fits(focus: list[FhirJson]) -> None:
    """Refuse (400, before anything is stored) a signed note whose message would not fit the broker's limit: it
    could never be delivered, and the note would be signed in Ketalink only."""
    size = len(json.dumps(focus, separators=(",", ":")).encode("utf-8"))
    if size > MESSAGE_FOCUS_MAX_BYTES:
        raise DocumentationInputError("text", f"the note with its PDF is {size} bytes, more than the "
                                              f"{MESSAGE_FOCUS_MAX_BYTES} an EHR message may carry: shorten it")
