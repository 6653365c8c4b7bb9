"""One step on a versioned record without needless conflicts.

A step reads a record (``shared.db.RecordStore``), lets the domain change it and writes it back naming the version
it read. Two steps on one record at once (a nurse and a bedside device charting vitals into one session) then
collide although neither contradicts the other: the second write finds a newer version (``StaleRecordError``).
Nobody asserted that version (the API takes no If-Match on these records), so the step is run again on the
record as it is now, in a fresh transaction, and the domain decides afresh: a reading appended to a session that
was ended meanwhile is refused by the domain's own rule, not by the version check.

The first try reads without a lock (most steps meet no one). A retry first locks the record's row, so no other
writer can slip in between its read and its write: on PostgreSQL ``SELECT ... FOR UPDATE``; on SQLite, whose
writers in one process queue on one lock (``shared/sqlite_writes.py``), an update that changes nothing makes the
transaction a writer before the read. A retry therefore normally succeeds; the bound only guards against a store
that does not lock as expected."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from shared.db import StaleRecordError, records

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_TRIES = 4  # the first (unlocked) try and up to three locked ones


def lock_record(conn: Connection, kind: str, record_id: str) -> None:
    """Hold the record's row for the rest of ``conn``'s transaction (see the module's docstring)."""
    where = (records.c.kind == kind, records.c.record_id == record_id)
    if conn.dialect.name == "sqlite":
        conn.execute(records.update().where(*where).values(version=records.c.version))
    else:
        conn.execute(select(records.c.version).where(*where).with_for_update())


def lock_patient_records(conn: Connection, kind: str, patient_id: str) -> None:
    """Hold every record of ``kind`` of the patient for the rest of ``conn``'s transaction, before any is read: a
    rule across a patient's records (one infusion at a time) then sees the others as they are, and a second step
    under the same rule waits for the first to commit. PostgreSQL locks the rows in one order (by id), so two such
    steps cannot deadlock; on SQLite the update makes the transaction the one writer, as in ``lock_record``."""
    where = (records.c.kind == kind, records.c.patient_id == patient_id)
    if conn.dialect.name == "sqlite":
        conn.execute(records.update().where(*where).values(version=records.c.version))
    else:
        conn.execute(select(records.c.record_id).where(*where).order_by(records.c.record_id).with_for_update())


def without_needless_conflicts(step: Callable[[bool], T], what: str, tries: int = MAX_TRIES) -> T:
    """Run ``step(locked)`` (each call its own transaction) until it does not meet a newer version; ``locked`` is
    False on the first try and True on the retries, which must call ``lock_record`` before they read. Raises the
    last StaleRecordError after ``tries``."""
    for attempt in range(1, tries + 1):
        try:
            return step(attempt > 1)
        except StaleRecordError:
            if attempt == tries:
                raise
            log.info("record changed meanwhile; step run again", extra={"record": what, "attempt": attempt})
    raise AssertionError("unreachable")  # the loop returns or raises
