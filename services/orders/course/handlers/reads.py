"""The course's reads: the patient's course and a course by id (after the re-evaluation due check, which saves and
publishes ``reevaluation-due`` like any change when the date has come), the patient a course belongs to, the
intake decision orders keeps, and the de-identified outcomes export. There is no timer: a course nobody reads or
changes is checked the next time it is opened, which is when a clinician can act on it."""
from __future__ import annotations

from datetime import date

from services.orders.course.domain.export import ExportSubject, OutcomeRow, export_rows
from services.orders.course.ehr_reads import birth_date
from services.orders.course.handlers.core import COURSE_KIND, CourseChange, CourseCore
from services.orders.course.repository import CourseNotFoundError
from services.orders.domain.eligibility import EligibilityDecision
from shared import ehr_delivery
from shared.ehr_delivery import RecordEhrStatus


class CourseReads(CourseCore):
    def patient_course(self, patient_id: str) -> CourseChange:
        """The patient's course (the active one, else the latest), after the due check."""
        with self._runtime.engine.connect() as conn:
            current = self._repo.current(conn, patient_id)
        if current is None:
            raise CourseNotFoundError(f"patient {patient_id} has no treatment course", "patient_id")
        return self._refreshed(current.course.course_id)

    def course(self, course_id: str) -> CourseChange:
        return self._refreshed(course_id)

    def course_ehr_status(self, course_id: str) -> RecordEhrStatus:
        """What the EHR did with the course's messages (scores, outcomes, suicidality alerts …)."""
        with self._runtime.engine.connect() as conn:
            return ehr_delivery.statuses_of(conn, COURSE_KIND, [course_id])[course_id]

    def course_patient(self, course_id: str) -> str | None:
        """The course's patient (for the SMART patient check); None for an unknown course."""
        with self._runtime.engine.connect() as conn:
            try:
                return self._repo.get(conn, course_id).course.patient_id
            except CourseNotFoundError:
                return None

    def export(self) -> tuple[OutcomeRow, ...]:
        """One de-identified row per course; birth dates are read from the EHR only for the age bands."""
        with self._runtime.engine.connect() as conn:
            courses = self._repo.all_courses(conn)
        birth_dates: dict[str, date | None] = {}
        for patient_id in {c.patient_id for c in courses}:
            birth_dates[patient_id] = birth_date(self._runtime.ehr, patient_id)
        return export_rows([ExportSubject(c, birth_dates[c.patient_id]) for c in courses], self.settings,
                           self.protocol)

    def eligibility(self, patient_id: str) -> EligibilityDecision | None:
        """The patient's latest intake decision as the orders service keeps it (the page's patient banner)."""
        with self._runtime.engine.connect() as conn:
            return self._orders.eligibility(conn, patient_id)
