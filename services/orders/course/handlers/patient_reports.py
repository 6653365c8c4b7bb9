"""Patient-reported outcomes between visits: the clinician makes a questionnaire link, the patient fills it on a
phone, and the answers become a score through the same domain step (``record_score``), the same outbox messages
and the same suicidality alert as a score entered in the clinic, with the patient as its source.

A submission is one transaction: the link's row is held (``SELECT ... FOR UPDATE``), checked open, the score
recorded on the course, the link marked used and the messages enqueued; then, like every change that raised a
suicidality alert, the request waits for the broker to take the alert (``CourseCore._await_alerts``). A second
submission of the same link (a double tap, a retry after a lost answer) finds the link used and records nothing;
its score's ``measurement_id`` is fixed by the link, so even a replay past the lock could only repeat the same
measurement, never add one."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.orders.course.domain import course as steps
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, scale_score
from services.orders.course.domain.model import CourseStatus, TreatmentCourse
from services.orders.course.domain.patient_links import (
    LinkState, PatientLink, RequestLimiter, new_link, plausible_token, token_hash,
)
from services.orders.course.domain.patient_instruments import PatientInstrument, load_clinic_instruments
from services.orders.course.domain.patient_reports import (
    DueQuestionnaire, DueState, PatientReportSettings, link_scales, questionnaires_due,
)
from services.orders.course.handlers.core import CourseChange, CourseCore, PublishedEvent
from services.orders.course.repository import PatientLinkStore
from shared.db import StaleRecordError
from shared.people import Person
from shared.record_writes import without_needless_conflicts
from shared.scales import DEFINITIONS, Scale

log = logging.getLogger(__name__)


class LinkRefused(Exception):
    """The link cannot be filled: used, expired or unknown (the page says which, and nothing more)."""

    def __init__(self, state: LinkState):
        self.state = state
        super().__init__(state.value)


@dataclass(frozen=True)
class OpenLink:
    """What the patient page may know of an open link: its scale and when it closes. Nothing about the patient."""

    scale: Scale
    expires_at: datetime


@dataclass(frozen=True)
class PatientSubmission:
    change: CourseChange
    suicide_item_positive: bool  # the answer to the scale's suicide item is above 0: show crisis contacts at once

    @property
    def alerts_raised(self) -> tuple[PublishedEvent, ...]:
        return self.change.alerts_raised


@dataclass(frozen=True)
class CourseQuestionnaires:
    """The staff's view of one course: what is due and the links made (newest first)."""

    course_id: str
    patient_id: str
    due: tuple[DueQuestionnaire, ...]
    links: tuple[PatientLink, ...]


@dataclass(frozen=True)
class ClinicDue:
    """One due or overdue questionnaire of a course, across the clinic; ``open_link_expires_at`` when a link for
    it is waiting for the patient."""

    course_id: str
    patient_id: str
    due: DueQuestionnaire
    open_link_expires_at: datetime | None


class CoursePatientReports(CourseCore):
    def __init__(self, *args: Any, pro_settings: PatientReportSettings | None = None,
                 clinic_instruments: dict[Scale, PatientInstrument] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pro_settings = pro_settings or PatientReportSettings()
        # The clinic's own wording (QIDS-SR16), read and checked at start-up: the bootstrap passes it in.
        self.clinic_instruments = (clinic_instruments if clinic_instruments is not None
                                   else load_clinic_instruments(self.pro_settings.clinic_questionnaire_files))
        self.link_scales = link_scales(self.clinic_instruments)
        self._links = PatientLinkStore()
        self.link_page_limiter = RequestLimiter(self.pro_settings.link_page_requests_per_minute)

    # --- staff ------------------------------------------------------------------------------------------------
    def create_patient_link(self, course_id: str, scale: Scale | None, by: Person) -> tuple[PatientLink, str]:
        """A new single-use link for a scheduled scale of an active course; the token is returned once (for the
        page to show with its QR code) and only its hash is stored. ``by`` is the signed-in clinician (kept by
        reference; the name only where SMART is off)."""
        if scale not in self.pro_settings.scheduled_scales:
            names = ", ".join(s.value for s in self.pro_settings.scheduled_scales)
            raise CourseInputError("scale", f"choose a questionnaire the clinic schedules ({names})")
        if scale not in self.link_scales:
            raise CourseInputError("scale", f"{DEFINITIONS[scale].name} cannot be sent as a link: the clinic has not "
                                            "loaded its wording (ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE); enter "
                                            "it in the clinic")
        now = self._now()
        with self._runtime.transaction() as conn:
            course = self._repo.get(conn, course_id).course
            if course.status is CourseStatus.STOPPED:
                raise CourseStateError("the course is stopped: no questionnaires are sent", "course_id")
            link, token = new_link(course_id, course.patient_id, scale, by.reference or by.display, now,
                                   self.pro_settings.link_valid_hours)
            self._links.add(conn, link)
        log.info("patient link created", extra={"course_id": course_id, "link_id": link.link_id,
                                                "scale": scale.value})
        return link, token

    def course_questionnaires(self, course_id: str) -> CourseQuestionnaires:
        with self._runtime.engine.connect() as conn:
            course = self._repo.get(conn, course_id).course
            links = self._links.for_courses(conn, [course_id])
        return CourseQuestionnaires(course_id, course.patient_id, self.questionnaires_due(course), tuple(links))

    def questionnaires_due(self, course: TreatmentCourse) -> tuple[DueQuestionnaire, ...]:
        return questionnaires_due(course, self.pro_settings, self._now())

    def clinic_questionnaires_due(self) -> tuple[ClinicDue, ...]:
        """Every due or overdue questionnaire of the clinic's running courses, the longest due first."""
        now = self._now()
        with self._runtime.engine.connect() as conn:
            courses = [c for c in self._repo.all_courses(conn) if c.status is not CourseStatus.STOPPED]
            links = self._links.for_courses(conn, [c.course_id for c in courses]) if courses else []
        rows = []
        for course in courses:
            for due in questionnaires_due(course, self.pro_settings, now):
                if due.state is DueState.NOT_DUE:
                    continue
                waiting = [link.expires_at for link in links if link.course_id == course.course_id
                           and link.scale is due.scale and link.state(now) is LinkState.OPEN]
                rows.append(ClinicDue(course.course_id, course.patient_id, due, max(waiting, default=None)))
        return tuple(sorted(rows, key=lambda row: row.due.due_at))

    # --- the patient -------------------------------------------------------------------------------------------
    def open_link(self, token: str) -> OpenLink:
        """The link's scale when it is open; LinkRefused (used, expired, unknown) otherwise."""
        link = self._find(token)
        state = link.state(self._now()) if link else LinkState.UNKNOWN
        if link is None or state is not LinkState.OPEN:
            raise LinkRefused(state)
        return OpenLink(link.scale, link.expires_at)

    def submit_patient_link(self, token: str, items: tuple[int | None, ...]) -> PatientSubmission:
        """Record the patient's answers (see the module's docstring): LinkRefused when the link is not open,
        CourseInputError naming the item when an answer is missing or out of range (nothing recorded, the link
        stays open)."""
        digest = token_hash(token) if plausible_token(token) else None
        now = self._now()

        def attempt(locked: bool) -> tuple[TreatmentCourse, list[PublishedEvent], bool]:
            with self._runtime.transaction() as conn:
                link = self._links.by_token_hash(conn, digest, for_update=True) if digest else None
                state = link.state(now) if link else LinkState.UNKNOWN
                if link is None or state is not LinkState.OPEN:
                    raise LinkRefused(state)
                if locked:
                    self._repo.lock(conn, link.course_id)
                loaded = self._repo.get(conn, link.course_id)
                score = scale_score(link.measurement_id, link.scale, items, now, ScoreSource.PATIENT_LINK,
                                    ScoreContext.FOLLOW_UP)
                if link.scale in self.clinic_instruments:  # the response names the clinic's Questionnaire
                    score = replace(score, answered_on=self.clinic_instruments[link.scale].answered(score.item_scores))
                changed = steps.check_due(steps.record_score(loaded.course, score, self.settings, self.protocol),
                                          now, self.protocol)
                self._links.mark_used(conn, link.link_id, now)
                published = self._save_and_publish(conn, loaded, changed, now, None)
                positive = bool(score.suicidality_item)
                log.info("patient link answered", extra={"course_id": link.course_id, "link_id": link.link_id,
                                                         "measurement_id": score.measurement_id})
                return changed, published, positive

        try:
            changed, published, positive = without_needless_conflicts(attempt, "patient link")
        except StaleRecordError:  # the course kept changing under us: nothing was recorded, the link is open
            raise CourseStateError("the answers could not be saved just now; please send them again",
                                   "items") from None
        published = self._await_alerts(published)
        return PatientSubmission(CourseChange(changed, self.summary(changed), tuple(published)), positive)

    def _find(self, token: str) -> PatientLink | None:
        if not plausible_token(token):
            return None
        with self._runtime.engine.connect() as conn:
            return self._links.by_token_hash(conn, token_hash(token))
