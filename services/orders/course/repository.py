"""The course's records in the shared versioned document store, beside the orders: one ``course`` record per
treatment course (the whole ``TreatmentCourse`` as one JSON document, so its facts, tasks and history never disagree)
and the latest intake baseline per patient (``course-baseline``: the scales the intake sent with its eligibility
decision, kept until an induction order is signed and the course starts from them).

One course per patient is active (any status but stopped); a stopped course stays for the history and the export.
The patient's questionnaire links have their own table (``PatientLinkStore``: single use needs a row to lock)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.model import CourseStatus, TreatmentCourse
from services.orders.course.domain.patient_links import PatientLink
from shared.db import RecordStore, StaleRecordError, StoredRecord, patient_links, records
from shared.record_writes import lock_record
from shared.records import JsonRecord
from shared.scales import Scale

COURSE = "course"
BASELINE = "course-baseline"


class CourseNotFoundError(LookupError):
    """No course with this id (404), or the patient has none (404 on ``/patients/{id}/course``)."""

    def __init__(self, message: str, field: str = "course_id"):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class IntakeBaseline(JsonRecord):
    """The baseline scales of the patient's latest intake decision (``intake-eligibility-decided``)."""

    patient_id: str
    intake_id: str
    decided_at: datetime
    scores: tuple[ScaleScore, ...] = ()
    cssrs_screens: tuple[CssrsScreening, ...] = ()


@dataclass(frozen=True)
class LoadedCourse:
    """A course with the stored version it was read at (optimistic locking on write)."""

    stored: StoredRecord
    course: TreatmentCourse


class CourseRepository:
    def __init__(self, store: RecordStore | None = None):
        self._store = store or RecordStore()

    # --- courses ---------------------------------------------------------------------------------------------
    def get(self, conn: Connection, course_id: str) -> LoadedCourse:
        stored = self._store.find(conn, COURSE, course_id)
        if stored is None:
            raise CourseNotFoundError(f"course {course_id} not found")
        return LoadedCourse(stored, TreatmentCourse.from_dict(stored.body))

    def lock(self, conn: Connection, course_id: str) -> None:
        """Hold the course for the rest of the transaction (a step run again after a conflict)."""
        lock_record(conn, COURSE, course_id)

    def for_patient(self, conn: Connection, patient_id: str) -> list[LoadedCourse]:
        """Oldest first."""
        return [LoadedCourse(s, TreatmentCourse.from_dict(s.body))
                for s in self._store.list_for_patient(conn, COURSE, patient_id)]

    def active(self, conn: Connection, patient_id: str) -> LoadedCourse | None:
        """The patient's course that is not stopped, if any."""
        return next((c for c in reversed(self.for_patient(conn, patient_id))
                     if c.course.status is not CourseStatus.STOPPED), None)

    def current(self, conn: Connection, patient_id: str) -> LoadedCourse | None:
        """The active course, else the latest stopped one (what the clinician's page shows)."""
        courses = self.for_patient(conn, patient_id)
        return self.active(conn, patient_id) or (courses[-1] if courses else None)

    def add(self, conn: Connection, course: TreatmentCourse) -> LoadedCourse:
        return LoadedCourse(self._store.insert(conn, COURSE, course.course_id, course.patient_id, course.to_dict()),
                            course)

    def save(self, conn: Connection, loaded: LoadedCourse, changed: TreatmentCourse) -> LoadedCourse:
        """Raises StaleRecordError when another request or message changed the course since it was read."""
        return LoadedCourse(self._store.update(conn, loaded.stored, changed.to_dict()), changed)

    def all_courses(self, conn: Connection) -> list[TreatmentCourse]:
        """Every course of the clinic (for the outcomes export), oldest first. The shared store lists by patient
        only, so this reads the records table by kind."""
        rows = conn.execute(select(records.c.body).where(records.c.kind == COURSE)
                            .order_by(records.c.created_at)).all()
        return [TreatmentCourse.from_dict(json.loads(row.body)) for row in rows]

    # --- intake baseline -------------------------------------------------------------------------------------
    def baseline(self, conn: Connection, patient_id: str) -> IntakeBaseline | None:
        stored = self._store.find(conn, BASELINE, patient_id)
        return None if stored is None else IntakeBaseline.from_dict(stored.body)

    def save_baseline(self, conn: Connection, baseline: IntakeBaseline) -> bool:
        """Keep the latest intake's baseline per patient; an older decision arriving late changes nothing."""
        stored = self._store.find(conn, BASELINE, baseline.patient_id)
        if stored is None:
            self._store.insert(conn, BASELINE, baseline.patient_id, baseline.patient_id, baseline.to_dict())
            return True
        if IntakeBaseline.from_dict(stored.body).decided_at > baseline.decided_at:
            return False
        self._store.update(conn, stored, baseline.to_dict())
        return True



class PatientLinkStore:
    """The patient's questionnaire links (table ``patient_links``; the token's hash only, never the token)."""

    def add(self, conn: Connection, link: PatientLink) -> None:
        conn.execute(patient_links.insert().values(
            link_id=link.link_id, token_hash=link.token_hash, course_id=link.course_id, patient_id=link.patient_id,
            scale=link.scale.value, created_at=link.created_at, expires_at=link.expires_at,
            created_by=link.created_by, used_at=None))

    def by_token_hash(self, conn: Connection, digest: str, *, for_update: bool = False) -> PatientLink | None:
        """The link; ``for_update`` holds its row until the transaction ends (a second submission waits, then
        finds it used)."""
        query = select(patient_links).where(patient_links.c.token_hash == digest)
        row = conn.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _link(row)

    def mark_used(self, conn: Connection, link_id: str, at: datetime) -> None:
        """Raises StaleRecordError unless this transaction is the one that uses the link."""
        done = conn.execute(patient_links.update().where(patient_links.c.link_id == link_id,
                                                         patient_links.c.used_at.is_(None)).values(used_at=at))
        if done.rowcount != 1:
            raise StaleRecordError(f"patient link {link_id} was used meanwhile")

    def for_courses(self, conn: Connection, course_ids: list[str]) -> list[PatientLink]:
        """The links of these courses, newest first."""
        rows = conn.execute(select(patient_links).where(patient_links.c.course_id.in_(course_ids))
                            .order_by(patient_links.c.created_at.desc())).all()
        return [_link(row) for row in rows]


def _link(row: Any) -> PatientLink:
    return PatientLink(row.link_id, row.token_hash, row.course_id, row.patient_id, Scale(row.scale),
                       _aware(row.created_at), _aware(row.expires_at), row.created_by,
                       None if row.used_at is None else _aware(row.used_at))


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every moment here was written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
