"""The service's store: orders, sessions and procedure notes as versioned JSON documents (``shared.db.RecordStore``).

Each load returns the record with the stored version it came from, so a save names that version and a concurrent
change is refused (``StaleRecordError``) instead of silently overwritten. Sessions and orders, read and written on
every reading, go through ``decoded.DecodedRecords``: each read still reads the row, but decodes (and each write
encodes) only what changed since this process last read or wrote that record."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.session import Session
from services.documentation.domain.suicide_risk import SuicidalityAlertSeen
from shared.pdf import PdfAttachment
from shared.db import RecordNotFound, RecordStore, StaleRecordError, StoredRecord, records, utcnow
from shared.record_writes import lock_patient_records, lock_record
from services.documentation.repository.decoded import DecodedRecords

ORDER_KIND = "order"
SESSION_KIND = "session"
NOTE_KIND = "note"
NOTE_PDF_KIND = "note-pdf"  # the signed note's PDF, made once at signing (handlers/note_pdf.py), by note id
SUICIDALITY_ALERT_KIND = "suicidality-alert"  # the course's alerts as learnt from ketalink.orders.events

R = TypeVar("R", bound=DocumentationRecord)

# The statements of the kept kinds, built once (building a statement costs more than SQLite running it).
_ROW = select(records.c.record_id, records.c.patient_id, records.c.version, records.c.body)
_BY_ID = _ROW.where(records.c.kind == bindparam("kind"), records.c.record_id == bindparam("record_id"))
_OF_PATIENT = _ROW.where(records.c.kind == bindparam("kind"), records.c.patient_id == bindparam("patient_id")
                         ).order_by(records.c.created_at)
_PATIENT_OF = select(records.c.patient_id).where(records.c.kind == bindparam("kind"),
                                                 records.c.record_id == bindparam("record_id"))
_UPDATE = records.update().where(
    records.c.kind == bindparam("where_kind"), records.c.record_id == bindparam("where_record_id"),
    records.c.version == bindparam("where_version"),
).values(version=bindparam("new_version"), body=bindparam("new_body"), updated_at=bindparam("new_updated_at"))


@dataclass(frozen=True)
class Loaded(Generic[R]):
    """A domain record and the stored version it was read from."""

    stored: StoredRecord
    record: R


class Records:
    def __init__(self, store: RecordStore | None = None):
        self._store = store or RecordStore()
        self._decoded = DecodedRecords()

    # --- sessions and orders: decoded and encoded where they changed ------------------------------------------
    def _kept(self, conn: Connection, kind: str, cls: type[R], record_id: str) -> Loaded[R] | None:
        row = conn.execute(_BY_ID, {"kind": kind, "record_id": record_id}).first()
        return None if row is None else self._loaded(kind, cls, row)

    def _kept_of_patient(self, conn: Connection, kind: str, cls: type[R], patient_id: str) -> list[Loaded[R]]:
        rows = conn.execute(_OF_PATIENT, {"kind": kind, "patient_id": patient_id}).all()
        return [self._loaded(kind, cls, row) for row in rows]

    def _loaded(self, kind: str, cls: type[R], row: Any) -> Loaded[R]:
        record, data = self._decoded.decode(cls, kind, row.record_id, row.body)
        # ``data`` is shared with the kept entry: nothing may change it (nothing does: it is only written out)
        return Loaded(StoredRecord(kind, row.record_id, row.patient_id, row.version, data), record)

    def _save_kept(self, conn: Connection, loaded: Loaded[R], record: R) -> Loaded[R]:
        """``RecordStore.update`` with the text encoded where the record changed: the same statement, the same
        version check."""
        current = loaded.stored
        text, data = self._decoded.encode(current.kind, current.record_id, record)
        result = conn.execute(_UPDATE, {
            "where_kind": current.kind, "where_record_id": current.record_id, "where_version": current.version,
            "new_version": current.version + 1, "new_body": text, "new_updated_at": utcnow()})
        if result.rowcount != 1:
            raise StaleRecordError(f"{current.kind} {current.record_id} changed since version {current.version}")
        return Loaded(StoredRecord(current.kind, current.record_id, current.patient_id, current.version + 1, data),
                      record)

    # --- orders ----------------------------------------------------------------------------------------------
    def find_order(self, conn: Connection, order_id: str) -> Loaded[ActiveOrder] | None:
        return self._kept(conn, ORDER_KIND, ActiveOrder, order_id)

    def order(self, conn: Connection, order_id: str) -> Loaded[ActiveOrder]:
        loaded = self.find_order(conn, order_id)
        if loaded is None:
            raise RecordNotFound(f"order {order_id} not found")
        return loaded

    # --- sessions --------------------------------------------------------------------------------------------
    def session(self, conn: Connection, session_id: str) -> Loaded[Session]:
        loaded = self.find_session(conn, session_id)
        if loaded is None:
            raise RecordNotFound(f"session {session_id} not found")
        return loaded

    def session_patient_id(self, conn: Connection, session_id: str) -> str:
        """Whose session it is, without reading the session (RecordNotFound for an unknown one)."""
        patient_id = conn.execute(_PATIENT_OF, {"kind": SESSION_KIND, "record_id": session_id}).scalar()
        if patient_id is None:
            raise RecordNotFound(f"session {session_id} not found")
        return str(patient_id)

    def lock_session(self, conn: Connection, session_id: str) -> None:
        """Hold the session for the rest of the transaction (a step run again after a conflict)."""
        lock_record(conn, SESSION_KIND, session_id)

    def lock_patient_sessions(self, conn: Connection, patient_id: str) -> None:
        """Hold every session of the patient for the rest of the transaction (the start: one infusion at a time)."""
        lock_patient_records(conn, SESSION_KIND, patient_id)

    def find_session(self, conn: Connection, session_id: str) -> Loaded[Session] | None:
        return self._kept(conn, SESSION_KIND, Session, session_id)

    def all_sessions(self, conn: Connection) -> list[Loaded[Session]]:
        """Every session of the clinic (the day's controlled-substance reconciliation reads them; one clinic's
        sessions stay in the thousands, a full read is simpler than an index that must be kept in step)."""
        rows = conn.execute(select(records).where(records.c.kind == SESSION_KIND)).mappings().all()
        return [Loaded(StoredRecord(SESSION_KIND, row["record_id"], row["patient_id"], row["version"],
                                    json.loads(row["body"])), Session.from_dict(json.loads(row["body"])))
                for row in rows]

    def sessions_where(self, conn: Connection, keep: Callable[[dict[str, Any]], bool]) -> list[Session]:
        """The sessions whose stored document passes ``keep``, a cheap test on the JSON made before the full read
        (the suite board reads a day's sessions out of every one the clinic has: the full read is what costs)."""
        rows = conn.execute(select(records.c.body).where(records.c.kind == SESSION_KIND)).scalars().all()
        return [Session.from_dict(body) for body in map(json.loads, rows) if keep(body)]

    def sessions_for_patient(self, conn: Connection, patient_id: str) -> list[Loaded[Session]]:
        loaded = self._kept_of_patient(conn, SESSION_KIND, Session, patient_id)
        return sorted(loaded, key=lambda item: (item.record.scheduled_start, item.record.occurrence_number))

    # --- notes -----------------------------------------------------------------------------------------------
    def note(self, conn: Connection, note_id: str) -> Loaded[ProcedureNote]:
        stored = self._store.find(conn, NOTE_KIND, note_id)
        if stored is None:
            raise RecordNotFound(f"note {note_id} not found")
        return Loaded(stored, ProcedureNote.from_dict(stored.body))

    def notes_for_session(self, conn: Connection, session: Session) -> list[Loaded[ProcedureNote]]:
        """Every version of the session's note, oldest first."""
        notes = [Loaded(stored, ProcedureNote.from_dict(stored.body))
                 for stored in self._store.list_for_patient(conn, NOTE_KIND, session.patient_id)]
        return sorted((n for n in notes if n.record.session_id == session.session_id),
                      key=lambda n: n.record.version)

    def note_pdf(self, conn: Connection, note_id: str) -> PdfAttachment | None:
        """The PDF stored when the note was signed (None for a draft, or a note signed before PDFs were made)."""
        stored = self._store.find(conn, NOTE_PDF_KIND, note_id)
        if stored is None:
            return None
        body = stored.body
        return PdfAttachment(base64.b64decode(body["data"]), body["title"], datetime.fromisoformat(body["created"]))

    def add_note_pdf(self, conn: Connection, note: ProcedureNote, pdf: PdfAttachment) -> None:
        self._store.insert(conn, NOTE_PDF_KIND, note.note_id, note.patient_id, {
            "note_id": note.note_id, "title": pdf.title, "created": pdf.created.isoformat(),
            "sha1": pdf.sha1_base64, "data": base64.b64encode(pdf.data).decode("ascii")})

    # --- suicidality alerts (issue 13 defect 5) ----------------------------------------------------------------
    def find_suicidality_alert(self, conn: Connection, alert_id: str) -> Loaded[SuicidalityAlertSeen] | None:
        stored = self._store.find(conn, SUICIDALITY_ALERT_KIND, alert_id)
        return None if stored is None else Loaded(stored, SuicidalityAlertSeen.from_dict(stored.body))

    def open_suicidality_alerts(self, conn: Connection, patient_id: str) -> tuple[SuicidalityAlertSeen, ...]:
        """The patient's alerts not yet acknowledged by the prescriber, oldest first."""
        alerts = [SuicidalityAlertSeen.from_dict(stored.body)
                  for stored in self._store.list_for_patient(conn, SUICIDALITY_ALERT_KIND, patient_id)]
        return tuple(sorted((a for a in alerts if a.is_open), key=lambda a: (a.raised_at, a.alert_id)))

    def add_suicidality_alert(self, conn: Connection, alert: SuicidalityAlertSeen) -> None:
        self._store.insert(conn, SUICIDALITY_ALERT_KIND, alert.alert_id, alert.patient_id, alert.to_dict())

    # --- writes ----------------------------------------------------------------------------------------------
    def add_order(self, conn: Connection, order: ActiveOrder) -> None:
        self._store.insert(conn, ORDER_KIND, order.order_id, order.patient_id, order.to_dict())

    def add_session(self, conn: Connection, session: Session) -> None:
        self._store.insert(conn, SESSION_KIND, session.session_id, session.patient_id, session.to_dict())

    def add_note(self, conn: Connection, note: ProcedureNote) -> None:
        self._store.insert(conn, NOTE_KIND, note.note_id, note.patient_id, note.to_dict())

    def save(self, conn: Connection, loaded: Loaded[R], record: R) -> Loaded[R]:
        """Write ``record`` over the version ``loaded`` was read from (StaleRecordError if it changed since)."""
        if loaded.stored.kind in (SESSION_KIND, ORDER_KIND):
            return self._save_kept(conn, loaded, record)
        return Loaded(self._store.update(conn, loaded.stored, record.to_dict()), record)
