"""The typed inputs of the course's service layer: what it is asked to do, as plain values (the service knows nothing
of Flask or pydantic), and the API's request bodies that build them (pydantic; unknown fields are refused). Only
shape is checked in a body: item ranges, the C-SSRS skip logic, intervals and counts are the domain's, whose messages
name the clinic's limits and the item at fault (``score.items[8]``)."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from services.orders.course.domain.measurements import ScoreContext, ScoreSource
from services.orders.course.domain.model import ClinicalEventKind, StopReason
from services.orders.course.domain.therapy import Attendance, ReferralStatus, TherapyKind
from shared.api import RequestModel
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


# --- request bodies of the API --------------------------------------------------------------------------------
Person = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-._]{1,64}$")]
EnteredBy = Literal["clinician", "patient-link"]  # scores from the EHR and the intake arrive as messages


class ScoreBody(RequestModel):
    scale: Scale = Field(description="phq-9, gad-7, madrs or qids-sr16")
    items: list[int | None] = Field(description="Item scores in order (PHQ-9: 9 items 0-3); the total is computed")
    context: ScoreContext = Field(ScoreContext.PRE_INFUSION, description="baseline, pre-infusion or follow-up")
    recorded_by: Person | None = Field(None, description="The clinician who rated or entered it")
    source: EnteredBy = "clinician"
    measured_at: AwareDatetime | None = Field(None, description="Default: now")
    session_id: RecordId | None = Field(None, description="Documentation's infusion session (the visit); only "
                                                          "once the session is checked in")
    measurement_id: RecordId | None = Field(None, description="Send an earlier score's id to rescore it")

    def to_command(self) -> RecordScore:
        return RecordScore(self.scale, tuple(self.items), self.context, ScoreSource(self.source), self.recorded_by,
                           self.measured_at, self.session_id, self.measurement_id)


class CssrsBody(RequestModel):
    answers: dict[str, bool | None] = Field(description="C-SSRS screener items (wish-to-be-dead, suicidal-thoughts, "
                                                        "...) answered yes/no; skipped follow-ups null or absent")
    context: ScoreContext = ScoreContext.PRE_INFUSION
    recorded_by: Person | None = None
    source: EnteredBy = "clinician"
    measured_at: AwareDatetime | None = None
    session_id: RecordId | None = None
    measurement_id: RecordId | None = None

    def to_command(self) -> RecordCssrs:
        return RecordCssrs(self.answers, self.context, ScoreSource(self.source), self.recorded_by, self.measured_at,
                           self.session_id, self.measurement_id)


class DecisionBody(RequestModel):
    decision: DecisionKind = Field(description="extend | maintenance | continue | reinduce | stop")
    by: Person
    reason: Annotated[str, StringConstraints(max_length=1000)] = Field(
        "", description="Required to extend, to re-induce, and for maintenance without a response or through a "
                        "loss of response or a relapse after remission")
    total_infusions: int | None = Field(None, description="extend: induction infusions in all")
    interval_days: int | None = Field(None, description="maintenance, continue: days between infusions")
    infusions: int | None = Field(None, description="reinduce: infusions of the new induction")
    stop_reason: StopReason | None = Field(None, description="stop: why")
    detail: Annotated[str, StringConstraints(max_length=1000)] = Field("", description="stop: needed for 'other'")

    def to_command(self) -> Decide:
        return Decide(self.decision, self.by, self.reason, self.total_infusions, self.interval_days, self.infusions,
                      self.stop_reason, self.detail)


class ClinicalEventBody(RequestModel):
    kind: ClinicalEventKind = Field(description="psychiatric-hospitalisation | suicide-attempt")
    occurred_at: AwareDatetime = Field(description="When it happened (not in the future)")
    recorded_by: Person = Field(description="The clinician who learned of it")
    detail: Annotated[str, StringConstraints(max_length=1000)] = Field("", description="What is known, briefly")
    event_id: RecordId | None = Field(None, description="Send a recorded event's id to correct it")

    def to_command(self) -> RecordClinicalEvent:
        return RecordClinicalEvent(self.kind, self.occurred_at, self.recorded_by, self.detail, self.event_id)


class AcknowledgeBody(RequestModel):
    by: Person = Field(description="The prescriber")
    action_taken: Reason = Field(description="e.g. called the patient; safety plan reviewed")

    def to_command(self, alert_id: str) -> AcknowledgeAlert:
        return AcknowledgeAlert(alert_id, self.by, self.action_taken)


class ReferralBody(RequestModel):
    kind: TherapyKind = Field(description="integration or psychotherapy")
    referred_by: Person
    reason: Reason
    performer: Person | None = Field(None, description="The therapist or service, as the EHR displays them")
    sessions_requested: int | None = None
    referral_id: RecordId | None = None

    def to_command(self) -> Refer:
        return Refer(self.kind, self.referred_by, self.reason, self.performer, self.sessions_requested,
                     self.referral_id)


class CloseReferralBody(RequestModel):
    status: Literal["completed", "revoked"] = Field(description="completed (the therapy ended as planned) or "
                                                                "revoked (withdrawn)")
    closed_by: Person

    def to_command(self, referral_id: str) -> CloseReferral:
        return CloseReferral(referral_id, ReferralStatus(self.status), self.closed_by)


class TherapySessionBody(RequestModel):
    referral_id: RecordId
    scheduled_start: AwareDatetime
    booked_by: Person
    after_infusion_number: int | None = Field(None, description="integration: the course infusion it follows")
    window_exception_reason: Reason | None = Field(None, description="Why it is booked outside the integration "
                                                                     "window")
    session_id: RecordId | None = Field(None, description="Send a booked session's id to reschedule it")

    def to_command(self) -> ScheduleTherapySession:
        return ScheduleTherapySession(self.referral_id, self.scheduled_start, self.after_infusion_number,
                                      self.window_exception_reason, self.session_id)


class AttendanceBody(RequestModel):
    attendance: Literal["attended", "missed", "cancelled"]
    recorded_by: Person
    recorded_at: AwareDatetime | None = None

    def to_command(self, session_id: str) -> RecordAttendance:
        return RecordAttendance(session_id, Attendance(self.attendance), self.recorded_by, self.recorded_at)
