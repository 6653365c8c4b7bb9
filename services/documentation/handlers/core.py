"""The service layer's core: what every command shares (the stores, the clock, the EHR reads), the reads, and one
session step as one transaction (load, let the domain change it, save it with the messages it produces)."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.note import ProcedureNote
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.suicide_risk import SuicidalityAlertSeen
from services.documentation.ehr_reads import EhrPatients, EhrWeights
from services.documentation.messages import SESSION_KIND, EventPublisher, events_for_change
from services.documentation.repository import Loaded, Records
from shared.clock import ClinicalClock
from shared.fhir.client import FhirClient
from shared.record_writes import without_needless_conflicts
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

SessionChange = Callable[[Session, ActiveOrder], Session]
R = TypeVar("R")
_OPEN_ALERTS_SHOWN = (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK)  # the day's suicide-risk check is open


def new_id() -> str:
    return str(uuid.uuid4())


def note_id_for(session_id: str, version: int) -> str:
    """One id per version of a session's note: two clinicians drafting (or amending) at once cannot both succeed,
    the second gets a conflict instead of a second version of the same number."""
    return f"{session_id}-note-v{version}"


@dataclass(frozen=True)
class SessionState:
    """A session as a command leaves it: with its order, the patient's suicidality alerts open now while the day's
    suicide-risk check is open (before the pre-infusion check ends), and the moment it was read (what is due or
    missed is counted from it)."""

    session: Session
    order: ActiveOrder
    open_alerts: tuple[SuicidalityAlertSeen, ...]
    as_of: datetime


@dataclass(frozen=True)
class Recorded(Generic[R]):
    """A session step that adds one record (a reading, an event, a rating …): the session after it and the record,
    with the id the service gave it when the command had none."""

    state: SessionState
    record: R


@dataclass(frozen=True)
class NotePreview:
    """The note as it would be drafted from the session now."""

    session: Session
    text: str


class ServiceCore:
    def __init__(self, runtime: ServiceRuntime, settings: SessionSettings, clock: ClinicalClock,
                 weights: EhrWeights, records: Records | None = None, clinic_zone: tzinfo = timezone.utc,
                 patients: EhrPatients | None = None):
        self._runtime = runtime
        self._settings = settings
        self._clock = clock
        self._weights = weights
        self._patients = patients or EhrPatients(runtime.ehr)
        self._records = records or Records()
        self._clinic_zone = clinic_zone  # what a clinic day is (the controlled-substance reconciliation)
        self._publisher = EventPublisher(runtime)

    @property
    def settings(self) -> SessionSettings:
        return self._settings

    @property
    def ehr(self) -> FhirClient:
        """The service's own EHR client (who a backend client acts for is checked with it)."""
        return self._runtime.ehr

    # --- reads -----------------------------------------------------------------------------------------------
    def sessions_for_patient(self, patient_id: str) -> list[Session]:
        with self._runtime.engine.connect() as conn:
            return [loaded.record for loaded in self._records.sessions_for_patient(conn, patient_id)]

    def session(self, session_id: str) -> SessionState:
        with self._runtime.engine.connect() as conn:
            session = self._records.session(conn, session_id).record
            order = self._records.order(conn, session.order_id).record
        return self._state(session, order)

    def session_patient_id(self, session_id: str) -> str:
        """Whose session it is, for the SMART check before each session view (RecordNotFound for an unknown one):
        the stored patient id alone, the session is read by the view."""
        with self._runtime.engine.connect() as conn:
            return self._records.session_patient_id(conn, session_id)

    def note(self, note_id: str) -> ProcedureNote:
        with self._runtime.engine.connect() as conn:
            return self._records.note(conn, note_id).record

    # --- plumbing --------------------------------------------------------------------------------------------
    def _change(self, session_id: str, change: SessionChange) -> SessionState:
        """One session step over HTTP: load, let the domain change it, save it with its events in one transaction.
        A step that meets a newer version of the session (another step committed meanwhile: a second reading, an
        event) is run again on it (``shared/record_writes.py``), so steps that do not contradict each other never
        conflict; one that does is refused by the domain's rule on the session as it is now."""
        return self._change_reading(session_id, lambda current, current_order, _conn: change(current, current_order))

    def _change_reading(self, session_id: str,
                        change: Callable[[Session, ActiveOrder, Connection], Session]) -> SessionState:
        """``_change`` for a step that also reads other records in the same transaction (the open alerts)."""
        def step(locked: bool) -> tuple[Session, ActiveOrder]:
            with self._runtime.transaction() as conn:
                if locked:
                    self._records.lock_session(conn, session_id)
                loaded = self._records.session(conn, session_id)
                order = self._records.order(conn, loaded.record.order_id).record
                return self._apply(conn, loaded, order, lambda current, current_order: change(
                    current, current_order, conn)), order

        session, order = without_needless_conflicts(step, f"session {session_id}")
        return self._state(session, order)

    def _apply(self, conn: Connection, loaded: Loaded[Session], order: ActiveOrder, change: SessionChange) -> Session:
        updated = change(loaded.record, order)
        if updated == loaded.record:
            return updated  # e.g. a redelivered reading: nothing to save or send
        self._records.save(conn, loaded, updated)
        for event in events_for_change(loaded.record, updated, order):
            self._publisher.publish(conn, event.event_code, updated.patient_id, event.focus, event.author,
                                    subject=(SESSION_KIND, updated.session_id))
        if updated.status is not loaded.record.status:
            log.info("session step", extra={"session_id": updated.session_id, "from_status":
                                            loaded.record.status.value, "to_status": updated.status.value})
        return updated

    def _state(self, session: Session, order: ActiveOrder) -> SessionState:
        as_of = self._clock.now()
        if session.status in _OPEN_ALERTS_SHOWN:
            with self._runtime.engine.connect() as conn:
                open_alerts = self._records.open_suicidality_alerts(conn, session.patient_id)
        else:
            open_alerts = ()
        return SessionState(session, order, open_alerts, as_of)


def require_unused_reading_id(session: Session, reading_id: str, field: str, pre_checks_only: bool = False) -> None:
    """Pre-check and flowsheet readings share the EHR identifier space ({session}/{reading}/{measure})."""
    used = {attempt.reading.reading_id for attempt in session.pre_checks}
    if not pre_checks_only:
        used |= {reading.reading_id for reading in session.readings}
    if reading_id in used:
        raise DocumentationInputError(field, f"reading {reading_id} already recorded")
