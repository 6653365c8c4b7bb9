"""Psychotherapy integration on the course: referral, booking of sessions and their attendance.

An integration session follows a given infusion and must start in the clinic's window after it (default 24-72 h
after the infusion started); outside it only with a reason, which is kept. Psychotherapy sessions need no infusion.
Booking needs an active referral of the same kind; the same session id again reschedules it (until attendance is
recorded). Attendance is recorded once: attended, missed or cancelled."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.people import Person
from services.orders.course.domain.checks import optional_text, require_aware, require_text, require_person
from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.model import CourseStatus, TreatmentCourse
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.domain.therapy import (
    Attendance,
    ReferralStatus,
    TherapyKind,
    TherapyReferral,
    TherapySession,
    integration_window,
)


def refer(course: TreatmentCourse, referral_id: str, kind: TherapyKind, referred_by: Person, referred_at: datetime,
          reason: str, *, performer: str | None = None, sessions_requested: int | None = None) -> TreatmentCourse:
    """A referral for integration sessions or psychotherapy (the ServiceRequest); the same id again is refused."""
    if course.status is CourseStatus.STOPPED:
        raise CourseStateError("the course is stopped; no new referrals")
    referral_id = require_text(referral_id, "referral_id")
    if course.referral(referral_id) is not None:
        raise CourseInputError("referral_id", f"referral {referral_id} already exists")
    if not isinstance(kind, TherapyKind):
        raise CourseInputError("kind", f"{kind!r} is not one of {', '.join(k.value for k in TherapyKind)}")
    require_aware(referred_at, "referred_at")
    if sessions_requested is not None and (isinstance(sessions_requested, bool) or not isinstance(
            sessions_requested, int) or sessions_requested < 1):
        raise CourseInputError("sessions_requested", "must be a whole number of at least 1")
    performer = optional_text(performer, "performer")
    referral = TherapyReferral(referral_id, kind, referred_at, require_person(referred_by, "referred_by"),
                               require_text(reason, "reason"), ReferralStatus.ACTIVE, performer, sessions_requested)
    return replace(course, referrals=course.referrals + (referral,))


def close_referral(course: TreatmentCourse, referral_id: str, status: ReferralStatus) -> TreatmentCourse:
    """The referral completed or revoked; its booked sessions stay as they are."""
    referral = _referral(course, referral_id)
    if status is ReferralStatus.ACTIVE:
        raise CourseInputError("status", "a referral is closed as completed or revoked")
    if referral.status is not ReferralStatus.ACTIVE:
        raise CourseStateError(f"referral {referral_id} is already {referral.status.value}", "referral_id")
    return replace(course, referrals=tuple(replace(r, status=status) if r.referral_id == referral_id else r
                                           for r in course.referrals))


def schedule_session(course: TreatmentCourse, session_id: str, referral_id: str, scheduled_start: datetime,
                     settings: CourseSettings, *, after_infusion_number: int | None = None,
                     window_exception_reason: str | None = None) -> TreatmentCourse:
    """Book (or re-book) a session under an active referral; an integration session names the infusion it follows
    and starts within the window unless a reason says why not."""
    session_id = require_text(session_id, "session_id")
    referral = _referral(course, referral_id)
    if referral.status is not ReferralStatus.ACTIVE:
        raise CourseStateError(f"referral {referral_id} is {referral.status.value}", "referral_id")
    require_aware(scheduled_start, "scheduled_start")
    exception = optional_text(window_exception_reason, "window_exception_reason")
    existing = next((s for s in course.therapy_sessions if s.session_id == session_id), None)
    if existing is not None and existing.attendance is not Attendance.SCHEDULED:
        raise CourseStateError(f"session {session_id} is already {existing.attendance.value}", "session_id")
    if referral.kind is TherapyKind.INTEGRATION:
        if after_infusion_number is None:
            raise CourseInputError("after_infusion_number", "an integration session names the infusion it follows")
        infusion = course.infusion(after_infusion_number)
        if infusion is None:
            raise CourseInputError("after_infusion_number", f"infusion {after_infusion_number} has not been given")
        start, end = integration_window(infusion.given_at, settings)
        if not start <= scheduled_start <= end and exception is None:
            raise CourseInputError(
                "scheduled_start", f"outside the integration window {start.isoformat()} – {end.isoformat()} "
                f"({settings.integration_window_start_hours}-{settings.integration_window_end_hours} h after "
                f"infusion {after_infusion_number}); give a reason to book it anyway")
    elif after_infusion_number is not None and course.infusion(after_infusion_number) is None:
        raise CourseInputError("after_infusion_number", f"infusion {after_infusion_number} has not been given")
    session = TherapySession(session_id, referral_id, referral.kind, scheduled_start, after_infusion_number, exception)
    sessions = tuple(s for s in course.therapy_sessions if s.session_id != session_id) + (session,)
    return replace(course, therapy_sessions=tuple(sorted(sessions, key=lambda s: s.scheduled_start)))


def record_attendance(course: TreatmentCourse, session_id: str, attendance: Attendance, recorded_by: Person,
                      recorded_at: datetime) -> TreatmentCourse:
    session = next((s for s in course.therapy_sessions if s.session_id == session_id), None)
    if session is None:
        raise CourseInputError("session_id", f"no therapy session {session_id} in course {course.course_id}")
    if attendance is Attendance.SCHEDULED:
        raise CourseInputError("attendance", "record attended, missed or cancelled")
    if session.attendance is not Attendance.SCHEDULED:
        raise CourseStateError(f"attendance of session {session_id} is already {session.attendance.value}",
                               "session_id")
    require_aware(recorded_at, "recorded_at")
    if attendance is Attendance.ATTENDED and recorded_at < session.scheduled_start:
        raise CourseInputError("recorded_at", "a session cannot be attended before it starts")
    updated = replace(session, attendance=attendance, attendance_recorded_at=recorded_at,
                      attendance_recorded_by=require_person(recorded_by, "recorded_by"))
    return replace(course, therapy_sessions=tuple(updated if s.session_id == session_id else s
                                                  for s in course.therapy_sessions))


def _referral(course: TreatmentCourse, referral_id: str) -> TherapyReferral:
    referral = course.referral(referral_id)
    if referral is None:
        raise CourseInputError("referral_id", f"no referral {referral_id} in course {course.course_id}")
    return referral

