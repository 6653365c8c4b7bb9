"""Psychotherapy integration records: a referral to integration sessions or psychotherapy, and the sessions booked
under it with their attendance. An integration session belongs to an infusion and is due in the clinic's window
after it (default 24-72 h); booking it outside the window is a documented choice (a reason is required)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.people import Person
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord


class TherapyKind(enum.Enum):
    INTEGRATION = "integration"  # an integration session after an infusion
    PSYCHOTHERAPY = "psychotherapy"  # ongoing psychotherapy alongside the course


class ReferralStatus(enum.Enum):
    """Values are FHIR request-status codes."""

    ACTIVE = "active"
    COMPLETED = "completed"
    REVOKED = "revoked"


class Attendance(enum.Enum):
    SCHEDULED = "scheduled"
    ATTENDED = "attended"
    MISSED = "missed"  # did not attend
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TherapyReferral(JsonRecord):
    referral_id: str
    kind: TherapyKind
    referred_at: datetime
    referred_by: Person
    reason: str
    status: ReferralStatus = ReferralStatus.ACTIVE
    performer: str | None = None  # the therapist or service, as the EHR displays them
    sessions_requested: int | None = None


@dataclass(frozen=True)
class TherapySession(JsonRecord):
    session_id: str
    referral_id: str
    kind: TherapyKind
    scheduled_start: datetime
    after_infusion_number: int | None = None  # the course infusion an integration session follows
    window_exception_reason: str | None = None  # why it is booked outside the window
    attendance: Attendance = Attendance.SCHEDULED
    attendance_recorded_at: datetime | None = None
    attendance_recorded_by: Person | None = None


def integration_window(infusion_given_at: datetime, settings: CourseSettings) -> tuple[datetime, datetime]:
    """From ``integration_window_start_hours`` to ``integration_window_end_hours`` after the infusion."""
    return (infusion_given_at + timedelta(hours=settings.integration_window_start_hours),
            infusion_given_at + timedelta(hours=settings.integration_window_end_hours))
