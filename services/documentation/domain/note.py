"""The procedure note: generated as plain text from the session record (``note_text``), reviewed (edited) and signed
by the clinician. A signed note never changes: an amendment is a new version that names the one it replaces."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text, require_person
from services.documentation.domain.controlled_substance import check_controlled_substance
from services.documentation.domain.errors import (
    DocumentationInputError,
    SignedNoteImmutable,
    TransitionNotAllowed,
)
from services.documentation.domain.note_text import controlled_substance_section, generate_note
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.session import ENDED_STATUSES, Session
from services.documentation.domain.settings import SessionSettings
from shared.people import Person


class NoteStatus(enum.Enum):
    DRAFT = "draft"
    SIGNED = "signed"


@dataclass(frozen=True)
class ProcedureNote(DocumentationRecord):
    """One version of the note; ``replaces_note_id`` names the signed version an amendment replaces."""

    note_id: str
    session_id: str
    patient_id: str
    version: int
    text: str
    drafted_by: Person
    drafted_at: datetime
    status: NoteStatus = NoteStatus.DRAFT
    signed_by: Person | None = None
    signed_at: datetime | None = None
    replaces_note_id: str = ""
    attestation: str = ""  # what the prescriber attested when signing (shared/roles.py); empty in older notes

    def __post_init__(self) -> None:
        for name in ("note_id", "session_id", "patient_id", "text"):
            require_text(getattr(self, name), name)
        require_person(self.drafted_by, "drafted_by")
        require_aware(self.drafted_at, "drafted_at")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise DocumentationInputError("version", f"must be 1 or more, got {self.version!r}")
        if (self.version > 1) != bool(self.replaces_note_id):
            raise DocumentationInputError("replaces_note_id", "an amendment (version > 1) names the note it replaces")
        if self.status is NoteStatus.SIGNED:
            require_person(self.signed_by, "signed_by")
            if self.signed_at is None:
                raise DocumentationInputError("signed_at", "required on a signed note")
            require_aware(self.signed_at, "signed_at")

    @property
    def is_signed(self) -> bool:
        return self.status is NoteStatus.SIGNED


def draft_note(session: Session, order: ActiveOrder, note_id: str, by: Person, at: datetime,
               settings: SessionSettings | None = None) -> ProcedureNote:
    """The first version, generated from a session that has ended (discharged, aborted or deferred)."""
    if session.status not in ENDED_STATUSES:
        raise TransitionNotAllowed(f"the note is written once the session has ended (it is {session.status.value})")
    return ProcedureNote(
        note_id=note_id,
        session_id=session.session_id,
        patient_id=session.patient_id,
        version=1,
        text=generate_note(session, order, settings, at),
        drafted_by=by,
        drafted_at=at,
    )


def edit_note(note: ProcedureNote, text: str) -> ProcedureNote:
    """The clinician's review changes the draft's text; a signed note raises ``SignedNoteImmutable``."""
    if note.is_signed:
        raise SignedNoteImmutable(f"note {note.note_id} is signed and cannot be edited; amend it instead")
    require_text(text, "text")
    return replace(note, text=text)


def sign_note(note: ProcedureNote, signer: Person, at: datetime, session: Session | None = None,
              attestation: str = "", controlled_substance_tolerance_mg: float = 0.1) -> ProcedureNote:
    """Sign the draft; with its ``session``, not before the controlled-substance record of an infusion that was
    started (drawn, given, wasted and witnessed: the legal record of a Schedule III drug must be complete), and not
    while that record disagrees with the administration record: the administration may be corrected after the
    controlled-substance record was checked against it, which would leave "given" on paper above what was given
    (the difference unaccounted for) under a signed note; and not while the text fails to state that record (a
    draft made before it says "NOT RECORDED": the signed legal record would deny a record that exists).
    ``controlled_substance_tolerance_mg`` is the clinic's."""
    if note.is_signed:
        raise SignedNoteImmutable(f"note {note.note_id} is already signed")
    if session is not None and session.infusion_started_at is not None and session.controlled_substance is None:
        raise TransitionNotAllowed(
            "the controlled-substance record (drawn, given, wasted, witnessed) is missing: record it before signing"
        )
    if session is not None and session.infusion_started_at is not None and session.controlled_substance is not None:
        administration = session.administration
        try:
            check_controlled_substance(session.controlled_substance, session.infusion_started_at,
                                       administration.total_mg if administration else None,
                                       administration.lot_number if administration else None,
                                       controlled_substance_tolerance_mg)
        except DocumentationInputError as error:
            raise TransitionNotAllowed(
                f"the controlled-substance record no longer agrees with the administration record ({error.message}): "
                "record it again before signing") from None
    if (session is not None and session.controlled_substance is not None
            and session.controlled_substance.describe() not in note.text):
        raise TransitionNotAllowed(
            "the note does not state the controlled-substance record as recorded (it was drafted before the record "
            "or edited since): replace its controlled-substance section with\n" + controlled_substance_section(session))
    require_person(signer, "signer")
    require_aware(at, "at")
    if at < note.drafted_at:
        raise DocumentationInputError("at", "a note cannot be signed before it was drafted")
    return replace(note, status=NoteStatus.SIGNED, signed_by=signer, signed_at=at, attestation=attestation)


def amend_note(note: ProcedureNote, new_note_id: str, text: str, by: Person, at: datetime) -> ProcedureNote:
    """A new draft version that replaces the signed ``note`` (which itself stays as it was)."""
    if not note.is_signed:
        raise TransitionNotAllowed(f"note {note.note_id} is a draft: edit it instead of amending")
    if new_note_id == note.note_id:
        raise DocumentationInputError("new_note_id", "an amendment needs its own id")
    return ProcedureNote(
        note_id=new_note_id,
        session_id=note.session_id,
        patient_id=note.patient_id,
        version=note.version + 1,
        text=text,
        drafted_by=by,
        drafted_at=at,
        replaces_note_id=note.note_id,
    )
