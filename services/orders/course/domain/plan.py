"""What the course CarePlan carries: the course as the EHR sees it (status, infusions given with their doses,
psychotherapy sessions, goal, referrals, series and the progress notes). ``care_plan_course_out`` writes it and
``care_plan_course_in`` reads it back, so the round trip is ``plan in == course_plan(course)``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.people import Person
from services.orders.course.domain.model import CourseStatus, StopReason, TreatmentCourse
from services.orders.course.domain.therapy import Attendance, TherapyKind
from services.orders.domain.series import SeriesPhase
from shared.records import JsonRecord


@dataclass(frozen=True)
class PlanInfusion(JsonRecord):
    number: int
    session_id: str
    given_at: datetime
    phase: SeriesPhase
    dose_mg: float
    dose_mg_per_kg: float | None
    stopped_early: bool


@dataclass(frozen=True)
class PlanSession(JsonRecord):
    session_id: str
    kind: TherapyKind
    scheduled_start: datetime
    attendance: Attendance


@dataclass(frozen=True)
class PlanNote(JsonRecord):
    at: datetime
    by: Person
    text: str


@dataclass(frozen=True)
class CoursePlan(JsonRecord):
    course_id: str
    patient_id: str
    status: CourseStatus
    started_at: datetime
    stopped_at: datetime | None
    stop_reason: StopReason | None
    goal_ids: tuple[str, ...]
    series_ids: tuple[str, ...]
    referral_ids: tuple[str, ...]
    infusions: tuple[PlanInfusion, ...]
    sessions: tuple[PlanSession, ...]
    notes: tuple[PlanNote, ...]


def course_plan(course: TreatmentCourse) -> CoursePlan:
    return CoursePlan(
        course_id=course.course_id,
        patient_id=course.patient_id,
        status=course.status,
        started_at=course.started_at,
        stopped_at=course.stop.stopped_at if course.stop else None,
        stop_reason=course.stop.reason if course.stop else None,
        goal_ids=tuple(g.goal_id for g in course.goals),
        series_ids=course.series_ids,
        referral_ids=tuple(r.referral_id for r in course.referrals),
        infusions=tuple(PlanInfusion(i.number, i.session_id, i.given_at, i.phase, i.dose_mg, i.dose_mg_per_kg,
                                     i.stopped_early) for i in course.infusions),
        sessions=tuple(PlanSession(s.session_id, s.kind, s.scheduled_start, s.attendance)
                       for s in course.therapy_sessions),
        notes=tuple(PlanNote(t.at, t.by, t.note) for t in course.transitions),
    )
