"""The clinic-level outcomes export for quality review: one de-identified row per course, as CSV here and as a FHIR
Bundle in ``translators/outcomes_bundle_out.py`` (both from ``export_rows``).

De-identification by construction: a row is built only from counts, scores, coded statuses and two coarse values,
the age band at the course start (``export_age_band_years`` wide, everyone from ``export_top_age_band_years`` in one
band "90+", as HIPAA Safe Harbor requires for ages over 89) and the start year. Names, birth dates, MRNs, patient,
course, session and order ids, exact dates and all free text (reasons, notes, adverse-event descriptions) are never
read into a row. Row keys are positions in the export (``C0001``), not derived from any id."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

from services.orders.course.domain.model import TreatmentCourse
from services.orders.course.domain.outcomes import course_outcome
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.domain.series import SeriesPhase
from services.orders.domain.settings import ProtocolSettings
from shared.records import JsonRecord
from shared.scales import DEFINITIONS

UNKNOWN_AGE_BAND = "unknown"


@dataclass(frozen=True)
class ExportSubject:
    """A course with the patient's birth date, read from the EHR by the glue only to compute the age band."""

    course: TreatmentCourse
    birth_date: date | None


@dataclass(frozen=True)
class OutcomeRow(JsonRecord):
    row_key: str
    age_band: str
    start_year: int
    course_status: str
    stop_reason: str
    primary_scale: str
    baseline_score: int | None
    best_score: int | None
    last_score: int | None
    last_drop_pct: float | None
    response: str
    remission: str
    remission_rule: str
    ever_responded: bool
    lost_response: bool  # a loss of response confirmed (never "relapsed": that is after remission)
    relapsed_after_remission: bool
    first_response_after_infusions: int | None
    infusions: int
    induction_infusions: int
    maintenance_infusions: int
    adverse_events: int
    serious_adverse_events: int
    integration_sessions_attended: int


CSV_COLUMNS: tuple[str, ...] = tuple(field.name for field in fields(OutcomeRow))


def export_rows(subjects: Sequence[ExportSubject], settings: CourseSettings,
                protocol: ProtocolSettings) -> tuple[OutcomeRow, ...]:
    """One row per course, ordered by start (row keys in that order)."""
    ordered = sorted(subjects, key=lambda s: s.course.started_at)
    return tuple(_row(f"C{n:04d}", subject, settings, protocol) for n, subject in enumerate(ordered, start=1))


def outcomes_csv(rows: Sequence[OutcomeRow]) -> str:
    """CSV text with a header row; empty cells for values that do not exist (no baseline ...)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else _cell(value) for value in
                         (getattr(row, column) for column in CSV_COLUMNS)])
    return buffer.getvalue()


def age_band(birth_date: date | None, on: date, settings: CourseSettings) -> str:
    """``"40-49"`` style bands; ``"90+"`` from the top band; ``"unknown"`` without a birth date."""
    if birth_date is None or birth_date > on:
        return UNKNOWN_AGE_BAND
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age >= settings.export_top_age_band_years:
        return f"{settings.export_top_age_band_years}+"
    low = age - age % settings.export_age_band_years
    high = min(low + settings.export_age_band_years, settings.export_top_age_band_years) - 1
    return f"{low}-{high}"


def _row(row_key: str, subject: ExportSubject, settings: CourseSettings, protocol: ProtocolSettings) -> OutcomeRow:
    course = subject.course
    outcome = course_outcome(course, settings)
    started_on = protocol.clinic_date(course.started_at)
    return OutcomeRow(
        row_key=row_key,
        age_band=age_band(subject.birth_date, started_on, settings),
        start_year=started_on.year,
        course_status=course.status.value,
        stop_reason=course.stop.reason.value if course.stop else "",
        primary_scale=DEFINITIONS[outcome.scale].name,
        baseline_score=outcome.baseline.total if outcome.baseline else None,
        best_score=outcome.best.total if outcome.best else None,
        last_score=outcome.last.total if outcome.last else None,
        last_drop_pct=outcome.last_drop_pct,
        response=outcome.response.value,
        remission=outcome.remission.value,
        remission_rule=outcome.remission_rule.text if outcome.remission_rule else "",
        ever_responded=outcome.responded,
        lost_response=bool(outcome.losses_of_response),
        relapsed_after_remission=bool(outcome.relapses),
        first_response_after_infusions=outcome.first_response.infusions_before if outcome.first_response else None,
        infusions=len(course.infusions),
        induction_infusions=sum(1 for i in course.infusions if i.phase is SeriesPhase.INDUCTION),
        maintenance_infusions=sum(1 for i in course.infusions if i.phase is SeriesPhase.MAINTENANCE),
        adverse_events=len(course.adverse_events),
        serious_adverse_events=sum(1 for e in course.adverse_events if e.serious),
        integration_sessions_attended=sum(1 for s in course.therapy_sessions if s.kind is TherapyKind.INTEGRATION
                                          and s.attendance is Attendance.ATTENDED),
    )


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
