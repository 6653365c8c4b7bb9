"""What the course's service layer is asked to do, as plain values (the web layer builds them from request bodies;
the service knows nothing of Flask or pydantic)."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import ClinicalEventKind, StopReason
from services.orders.course.domain.therapy import Attendance, ReferralStatus, TherapyKind
from shared.scales import Scale


@dataclass(frozen=True)
class RecordScore:
    scale: Scale
    items: tuple[int | None, ...]
    context: ScoreContext
    source: ScoreSource
    recorded_by: str | None = None
    measured_at: datetime | None = None  # default: now
    session_id: str | None = None  # documentation's infusion session (the visit) of a pre-infusion score
    measurement_id: str | None = None  # the same id again rescores a questionnaire; default: a new id


@dataclass(frozen=True)
class RecordCssrs:
    answers: Mapping[str, bool | None]
    context: ScoreContext
    source: ScoreSource
    recorded_by: str | None = None
    measured_at: datetime | None = None
    session_id: str | None = None
    measurement_id: str | None = None


class DecisionKind(enum.Enum):
    EXTEND = "extend"  # more induction infusions before the response check
    MAINTENANCE = "maintenance"  # start maintenance after the response check
    CONTINUE = "continue"  # maintenance goes on after a re-evaluation (or its interval changes)
    REINDUCE = "reinduce"  # a new induction after a re-evaluation
    STOP = "stop"


@dataclass(frozen=True)
class Decide:
    kind: DecisionKind
    by: str
    reason: str = ""
    total_infusions: int | None = None  # extend
    interval_days: int | None = None  # maintenance, continue
    infusions: int | None = None  # reinduce
    stop_reason: StopReason | None = None  # stop
    detail: str = ""  # stop (needed for "other")


@dataclass(frozen=True)
class RecordClinicalEvent:
    """A hospitalisation or suicide attempt the clinician learned of (relapse after remission)."""

    kind: ClinicalEventKind
    occurred_at: datetime
    recorded_by: str
    detail: str = ""
    event_id: str | None = None  # the same id again corrects it; default: a new id


@dataclass(frozen=True)
class AcknowledgeAlert:
    alert_id: str
    by: str
    action_taken: str


@dataclass(frozen=True)
class Refer:
    kind: TherapyKind
    referred_by: str
    reason: str
    performer: str | None = None
    sessions_requested: int | None = None
    referral_id: str | None = None  # default: a new id


@dataclass(frozen=True)
class CloseReferral:
    referral_id: str
    status: ReferralStatus  # completed or revoked
    closed_by: str


@dataclass(frozen=True)
class ScheduleTherapySession:
    referral_id: str
    scheduled_start: datetime
    after_infusion_number: int | None = None
    window_exception_reason: str | None = None
    session_id: str | None = None  # the same id again reschedules; default: a new id


@dataclass(frozen=True)
class RecordAttendance:
    session_id: str
    attendance: Attendance
    recorded_by: str
    recorded_at: datetime | None = None  # default: now
