"""Patient-reported outcomes between visits: which questionnaires the clinic schedules, when each is due, and the
settings of the patient's questionnaire link (``ORDERS_COURSE_PRO_*``), each default with its source.

Load with ``shared.config.load_settings(PatientReportSettings, "ORDERS_COURSE_PRO_")`` and ``validate()`` at
start-up. Defaults (all **unverified** clinic settings unless a source is named):
- ``scales`` ``phq-9``: PHQ-9 is always scheduled (the issue: PHQ-9 before each infusion and between visits);
  ``gad-7`` and ``qids-sr16`` are added per clinic. MADRS is clinician-rated and is never sent to a patient.
- Intervals: PHQ-9 and QIDS-SR16 every 7 days, GAD-7 every 14 days. PHQ-9 and GAD-7 ask about the last 2 weeks,
  QIDS-SR16 about the last 7 days (the instruments' own wording); a weekly PHQ-9 between infusions is the clinic's
  choice, not a published rule.
- A questionnaire is *due* from the interval after the last score of that scale (from any source: clinic, link, EHR,
  intake), or from the course's start when there is none, and *overdue* ``overdue_after_days`` (3) later.
- A link is valid ``link_valid_hours`` (72) from its creation and for one submission.
- ``patient_base_url``: the address patients open the link at, when the orders service is reached by staff at
  another (internal) one; empty: the address the staff page was opened at.
- ``client_address_header``: the header the ingress writes the client's address to (its last entry is read: the
  one the proxy itself appended); empty, the rate limit counts the connection's address, which behind a proxy is the
  proxy's, so every patient shares one limit.
- Crisis contacts shown on every patient page and at once after a positive suicide item: the US 988 Suicide &
  Crisis Lifeline and 911 (not in CLINICAL.md: a clinic outside the US must set its own).
- ``qids_sr16_questionnaire``: empty (default), QIDS-SR16 is scheduled and shown due but has no patient link (its
  wording is licensed and not in Ketalink); a path, the clinic's own QIDS-SR16 ``Questionnaire`` (FHIR R4 JSON),
  checked at start-up by ``patient_instruments.load_instrument``, and QIDS-SR16 links show its texts. Only with
  ``qids-sr16`` in ``scales``.

The schedule is computed from the course's recorded scores each time it is read, never stored: a score recorded
by any path moves the next due date, and a list never shows a due date older than the scores it is drawn from."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.orders.course.domain.model import CourseStatus, TreatmentCourse
from shared.scales import DEFINITIONS, Scale

PATIENT_SCALES = (Scale.PHQ9, Scale.GAD7, Scale.QIDS_SR16)  # the self-report scales; MADRS is clinician-rated
# The scales a patient link can always ask: those whose patient wording (stem and answers) Ketalink holds. QIDS-SR16
# has its own answer texts per item, licensed: a link only with the clinic's Questionnaire file
# (``qids_sr16_questionnaire``, ``link_scales``); without it, it is scheduled, shown due and entered in the clinic.
LINK_SCALES = (Scale.PHQ9, Scale.GAD7)
CRISIS_CONTACT_SEPARATOR = ";"
DEFAULT_CRISIS_CONTACTS = ("Call or text 988 (988 Suicide & Crisis Lifeline, US), any time, day or night;"
                           "In an emergency call 911 or go to the nearest emergency department")


@dataclass(frozen=True)
class PatientReportSettings:
    scales: tuple[str, ...] = (Scale.PHQ9.value,)
    phq9_interval_days: int = 7  # unverified
    gad7_interval_days: int = 14  # unverified
    qids_sr16_interval_days: int = 7  # unverified
    overdue_after_days: int = 3  # unverified
    link_valid_hours: int = 72  # unverified
    crisis_contacts: str = DEFAULT_CRISIS_CONTACTS  # ";"-separated lines
    link_page_requests_per_minute: int = 30  # per client address, on the patient pages
    patient_base_url: str = ""  # where patients reach the link pages (https://...); empty: the address staff use
    client_address_header: str = ""  # e.g. X-Forwarded-For behind the ingress; empty: the connection's address
    qids_sr16_questionnaire: str = ""  # path of the clinic's QIDS-SR16 Questionnaire (FHIR R4 JSON); empty: no links

    @property
    def scheduled_scales(self) -> tuple[Scale, ...]:
        return tuple(Scale(key) for key in self.scales)

    @property
    def clinic_questionnaire_files(self) -> dict[Scale, str]:
        """The clinic's Questionnaire file of each scale that has one set (QIDS-SR16)."""
        return {Scale.QIDS_SR16: self.qids_sr16_questionnaire} if self.qids_sr16_questionnaire else {}

    @property
    def crisis_contact_lines(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.crisis_contacts.split(CRISIS_CONTACT_SEPARATOR) if line.strip())

    def interval(self, scale: Scale) -> timedelta:
        return timedelta(days=getattr(self, f"{_PREFIX[scale]}_interval_days"))

    @property
    def link_validity(self) -> timedelta:
        return timedelta(hours=self.link_valid_hours)

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting (checked once at start-up)."""
        allowed = {scale.value for scale in PATIENT_SCALES}
        unknown = sorted(set(self.scales) - allowed)
        _require(not unknown, f"scales has instruments a patient cannot answer {unknown}; "
                              f"allowed: {', '.join(sorted(allowed))}")
        _require(Scale.PHQ9.value in self.scales, "scales must include phq-9 (always scheduled)")
        for scale in PATIENT_SCALES:
            days = getattr(self, f"{_PREFIX[scale]}_interval_days")
            _require(_is_int(days) and 1 <= days <= 180, f"{_PREFIX[scale]}_interval_days must be 1-180")
        _require(_is_int(self.overdue_after_days) and 0 <= self.overdue_after_days <= 60,
                 "overdue_after_days must be 0-60")
        _require(_is_int(self.link_valid_hours) and 1 <= self.link_valid_hours <= 14 * 24,
                 "link_valid_hours must be 1-336 (at most two weeks: an old link is a stale questionnaire)")
        _require(bool(self.crisis_contact_lines), "crisis_contacts must name at least one contact")
        _require(not self.patient_base_url or (self.patient_base_url.startswith(("https://", "http://"))
                                               and "?" not in self.patient_base_url),
                 "patient_base_url must be empty or an http(s) URL without a query")
        _require(all(c.isalnum() or c == "-" for c in self.client_address_header),
                 "client_address_header must be empty or a header name")
        _require(_is_int(self.link_page_requests_per_minute) and 1 <= self.link_page_requests_per_minute <= 600,
                 "link_page_requests_per_minute must be 1-600")
        _require(not self.qids_sr16_questionnaire or Scale.QIDS_SR16.value in self.scales,
                 "qids_sr16_questionnaire is set but qids-sr16 is not in scales: add it, or leave the file unset")


def link_scales(clinic_scales: Iterable[Scale]) -> tuple[Scale, ...]:
    """The scales a patient link can ask: Ketalink's own wording (LINK_SCALES) and those whose wording the clinic
    loaded (``clinic_scales``)."""
    return LINK_SCALES + tuple(scale for scale in clinic_scales if scale not in LINK_SCALES)


class DueState(enum.Enum):
    NOT_DUE = "not-due"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class DueQuestionnaire:
    """One scheduled scale of a course: its last score (any source) and when the next is due."""

    scale: Scale
    last_measured_at: datetime | None
    due_at: datetime
    overdue_at: datetime
    state: DueState

    @property
    def scale_name(self) -> str:
        return DEFINITIONS[self.scale].name


def questionnaires_due(course: TreatmentCourse, settings: PatientReportSettings,
                       now: datetime) -> tuple[DueQuestionnaire, ...]:
    """Every scheduled scale of the course with its due state at ``now``; none for a stopped course (nobody is
    asked questions about a treatment that has ended)."""
    if course.status is CourseStatus.STOPPED:
        return ()
    due = []
    for scale in settings.scheduled_scales:
        times = [s.measured_at for s in course.scores if s.scale is scale]
        last = max(times) if times else None
        due_at = (last or course.started_at) + (settings.interval(scale) if last else timedelta(0))
        overdue_at = due_at + timedelta(days=settings.overdue_after_days)
        state = DueState.OVERDUE if now >= overdue_at else DueState.DUE if now >= due_at else DueState.NOT_DUE
        due.append(DueQuestionnaire(scale, last, due_at, overdue_at, state))
    return tuple(due)


_PREFIX = {Scale.PHQ9: "phq9", Scale.GAD7: "gad7", Scale.QIDS_SR16: "qids_sr16"}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
