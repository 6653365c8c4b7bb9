"""The procedure note: generated from the ended session, edited as a draft, signed (the EHR receives it with its
signature) and amended by a new version."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Connection

from services.documentation import commands as c
from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.note import ProcedureNote, amend_note, draft_note, edit_note, sign_note
from services.documentation.domain.note_text import generate_note
from services.documentation.handlers.core import NotePreview, ServiceCore, note_id_for
from services.documentation.handlers.note_pdf import patient_identity, require_message_fits, signed_note_pdf
from services.documentation.messages import NOTE_KIND
from services.documentation.repository import Loaded
from services.documentation.translators import message_out
from shared.events.event_codes import NOTE_SIGNED
from shared.config import load_settings
from shared.pdf import PdfAttachment
from shared.roles import ATTESTATIONS
from shared.ui.banner import BannerSettings

log = logging.getLogger(__name__)


class NoteSteps(ServiceCore):
    def preview_note(self, session_id: str) -> NotePreview:
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            order = self._records.order(conn, session.order_id).record
        return NotePreview(session, generate_note(session, order, self._settings, self._clock.now()))

    def notes(self, session_id: str) -> list[ProcedureNote]:
        """Every version of the session's note, oldest first."""
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            return [loaded.record for loaded in self._records.notes_for_session(conn, session)]

    def note_versions(self, note_id: str) -> list[ProcedureNote]:
        """Every version of the note's session's note, oldest first (RecordNotFound for an unknown note)."""
        with self._runtime.engine.connect() as conn:
            note = self._records.note(conn, note_id).record
            session = self._records.session(conn, note.session_id).record
            return [loaded.record for loaded in self._records.notes_for_session(conn, session)]

    def draft_note(self, session_id: str, command: c.DraftNote) -> ProcedureNote:
        at = self._clock.resolve(command.at)
        with self._runtime.transaction() as conn:
            session = self._records.session(conn, session_id).record
            existing = self._records.notes_for_session(conn, session)
            if existing:
                latest = existing[-1].record
                raise TransitionNotAllowed(f"session {session_id} already has note {latest.note_id} "
                                           f"({latest.status.value}): edit or amend it")
            order = self._records.order(conn, session.order_id).record
            note = draft_note(session, order, note_id_for(session.session_id, 1), command.actor, at,
                              settings=self._settings)
            self._records.add_note(conn, note)
        return note

    def edit_note(self, note_id: str, command: c.EditNote) -> ProcedureNote:
        with self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            return self._records.save(conn, loaded, edit_note(loaded.record, command.text)).record

    def note_pdf(self, note_id: str) -> PdfAttachment | None:
        """The PDF made when the note was signed (None for a draft)."""
        with self._runtime.engine.connect() as conn:
            return self._records.note_pdf(conn, note_id)

    def sign_note(self, note_id: str, command: c.SignNote) -> ProcedureNote:
        """Signed, its PDF made once from the signed text and stored, and both sent to the EHR in one transaction.
        The PDF is rendered before the transaction (a long note takes seconds) from the note as signed; if the
        draft changed meanwhile, it is rendered again from what is signed in the transaction."""
        at = self._clock.resolve(command.at)
        with self._runtime.engine.connect() as conn:
            rendered = self._signed(conn, note_id, command, at)
        identity = patient_identity(self._runtime.ehr, rendered.patient_id,
                                    load_settings(BannerSettings, "KETALINK_").mrn_identifier_system)
        pdf = signed_note_pdf(rendered, identity, self._clinic_zone)
        with self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            note = self._signed(conn, note_id, command, at, loaded)
            if note != rendered:
                pdf = signed_note_pdf(note, identity, self._clinic_zone)
            focus = message_out.note_signed_focus(note, pdf)
            require_message_fits(focus)
            self._records.save(conn, loaded, note)
            self._records.add_note_pdf(conn, note, pdf)
            self._publisher.publish(conn, NOTE_SIGNED, note.patient_id, focus,
                                    author=note.signed_by, subject=(NOTE_KIND, note.note_id))
        log.info("note signed", extra={"note_id": note.note_id, "session_id": note.session_id})
        return note

    def _signed(self, conn: Connection, note_id: str, command: c.SignNote, at: datetime,
                loaded: Loaded[ProcedureNote] | None = None) -> ProcedureNote:
        """The note as signing makes it from what is stored (the domain's refusals raised here)."""
        loaded = loaded or self._records.note(conn, note_id)
        session = self._records.session(conn, loaded.record.session_id).record
        return sign_note(loaded.record, command.actor, at, session, attestation=ATTESTATIONS["sign-note"],
                         controlled_substance_tolerance_mg=self._settings.controlled_substance_tolerance_mg)

    def amend_note(self, note_id: str, command: c.AmendNote) -> ProcedureNote:
        at = self._clock.resolve(command.at)
        with self._runtime.transaction() as conn:
            loaded = self._records.note(conn, note_id)
            session = self._records.session(conn, loaded.record.session_id).record
            latest = self._records.notes_for_session(conn, session)[-1].record
            if latest.note_id != note_id:
                raise TransitionNotAllowed(f"note {note_id} was replaced by version {latest.version} "
                                           f"({latest.note_id}): amend that one")
            amended = amend_note(loaded.record, note_id_for(session.session_id, latest.version + 1), command.text,
                                 command.actor, at)
            self._records.add_note(conn, amended)
        return amended
