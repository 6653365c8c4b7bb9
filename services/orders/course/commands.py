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
from shared.people import Person
from shared.scales import Scale


@dataclass(frozen=True)
class RecordScore:
    scale: Scale
    items: tuple[int | None, ...]
    context: ScoreContext
    source: ScoreSource
    recorded_by: Person | None = None
    measured_at: datetime | None = None  # default: now
    session_id: str | None = None  # documentation's infusion session (the visit) of a pre-infusion score
    measurement_id: str | None = None  # the same id again rescores a questionnaire; default: a new id


@dataclass(frozen=True)
class RecordCssrs:
    answers: Mapping[str, bool | None]
    context: ScoreContext
    source: ScoreSource
    recorded_by: Person | None = None
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
    by: Person
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
    recorded_by: Person
    detail: str = ""
    event_id: str | None = None  # the same id again corrects it; default: a new id


@dataclass(frozen=True)
class AcknowledgeAlert:
    alert_id: str
    by: Person
    action_taken: str


@dataclass(frozen=True)
class Refer:
    kind: TherapyKind
    referred_by: Person
    reason: str
    performer: str | None = None
    sessions_requested: int | None = None
    referral_id: str | None = None  # default: a new id


@dataclass(frozen=True)
class CloseReferral:
    referral_id: str
    status: ReferralStatus  # completed or revoked
    closed_by: Person


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
    recorded_by: Person
    recorded_at: datetime | None = None  # default: now


# --- request bodies of the API --------------------------------------------------------------------------------
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ClinicianReference = Annotated[str, StringConstraints(
    pattern=r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$")]


def _typed_name(description: str = "Who, by name") -> object:
    return Field(None, description=f"{description}: read only where SMART is off (local runs). Otherwise the "
                                   "signed-in clinician (the token's fhirUser) is recorded, whatever this says.")


ON_BEHALF_OF = Field(None, description="Only for a backend client (a token without fhirUser): the clinician it acts "
                                       "for, Practitioner/<id>, which must exist in the EHR; a clinician's own token "
                                       "may not name anyone else (403).")


class ActedBody(RequestModel):
    """A body of a clinician's act: who acts comes from the request's SMART context (``actor`` passed to
    ``to_command``); ``typed_name`` is the body's name field, read only where SMART is off."""

    on_behalf_of: ClinicianReference | None = ON_BEHALF_OF

    @property
    def typed_name(self) -> str | None:
        return None
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-._]{1,64}$")]
EnteredBy = Literal["clinician", "patient-link"]  # scores from the EHR and the intake arrive as messages


class ScoreBody(ActedBody):
    scale: Scale = Field(description="phq-9, gad-7, madrs or qids-sr16")
    items: list[int | None] = Field(max_length=20, description="Item scores in order (PHQ-9: 9 items 0-3; the "
                                    "longest scale, QIDS-SR16, has 16); the total is computed")
    context: ScoreContext = Field(ScoreContext.PRE_INFUSION, description="baseline, pre-infusion or follow-up")
    recorded_by: Name | None = _typed_name("The clinician who rated or entered it")
    source: EnteredBy = "clinician"
    measured_at: AwareDatetime | None = Field(None, description="Default: now")
    session_id: RecordId | None = Field(None, description="Documentation's infusion session (the visit); only "
                                                          "once the session is checked in")
    measurement_id: RecordId | None = Field(None, description="Send an earlier score's id to rescore it")

    @property
    def typed_name(self) -> str | None:
        return self.recorded_by

    def to_command(self, actor: Person) -> RecordScore:
        """``actor`` recorded it; a questionnaire the patient answered (``patient-link``) has no clinician."""
        recorded_by = actor if self.source == "clinician" else None
        return RecordScore(self.scale, tuple(self.items), self.context, ScoreSource(self.source), recorded_by,
                           self.measured_at, self.session_id, self.measurement_id)


class CssrsBody(ActedBody):
    answers: dict[str, bool | None] = Field(description="C-SSRS screener items (wish-to-be-dead, suicidal-thoughts, "
                                                        "...) answered yes/no; skipped follow-ups null or absent")
    context: ScoreContext = ScoreContext.PRE_INFUSION
    recorded_by: Name | None = _typed_name()
    source: EnteredBy = "clinician"
    measured_at: AwareDatetime | None = None
    session_id: RecordId | None = None
    measurement_id: RecordId | None = None

    @property
    def typed_name(self) -> str | None:
        return self.recorded_by

    def to_command(self, actor: Person) -> RecordCssrs:
        recorded_by = actor if self.source == "clinician" else None
        return RecordCssrs(self.answers, self.context, ScoreSource(self.source), recorded_by, self.measured_at,
                           self.session_id, self.measurement_id)


class DecisionBody(ActedBody):
    decision: DecisionKind = Field(description="extend | maintenance | continue | reinduce | stop")
    by: Name | None = _typed_name()
    reason: Annotated[str, StringConstraints(max_length=1000)] = Field(
        "", description="Required to extend, to re-induce, and for maintenance without a response or through a "
                        "loss of response or a relapse after remission")
    total_infusions: int | None = Field(None, description="extend: induction infusions in all")
    interval_days: int | None = Field(None, description="maintenance, continue: days between infusions")
    infusions: int | None = Field(None, description="reinduce: infusions of the new induction")
    stop_reason: StopReason | None = Field(None, description="stop: why")
    detail: Annotated[str, StringConstraints(max_length=1000)] = Field("", description="stop: needed for 'other'")

    @property
    def typed_name(self) -> str | None:
        return self.by

    def to_command(self, actor: Person) -> Decide:
        return Decide(self.decision, actor, self.reason, self.total_infusions, self.interval_days, self.infusions,
                      self.stop_reason, self.detail)


class ClinicalEventBody(ActedBody):
    kind: ClinicalEventKind = Field(description="psychiatric-hospitalisation | suicide-attempt")
    occurred_at: AwareDatetime = Field(description="When it happened (not in the future)")
    recorded_by: Name | None = _typed_name("The clinician who learned of it")
    detail: Annotated[str, StringConstraints(max_length=1000)] = Field("", description="What is known, briefly")
    event_id: RecordId | None = Field(None, description="Send a recorded event's id to correct it")

    @property
    def typed_name(self) -> str | None:
        return self.recorded_by

    def to_command(self, actor: Person) -> RecordClinicalEvent:
        return RecordClinicalEvent(self.kind, self.occurred_at, actor, self.detail, self.event_id)


class AcknowledgeBody(ActedBody):
    by: Name | None = _typed_name("The prescriber")
    action_taken: Reason = Field(description="e.g. called the patient; safety plan reviewed")

    @property
    def typed_name(self) -> str | None:
        return self.by

    def to_command(self, alert_id: str, actor: Person) -> AcknowledgeAlert:
        return AcknowledgeAlert(alert_id, actor, self.action_taken)


class ReferralBody(ActedBody):
    kind: TherapyKind = Field(description="integration or psychotherapy")
    referred_by: Name | None = _typed_name()
    reason: Reason
    performer: Name | None = Field(None, description="The therapist or service, as the EHR displays them")
    sessions_requested: int | None = None
    referral_id: RecordId | None = None

    @property
    def typed_name(self) -> str | None:
        return self.referred_by

    def to_command(self, actor: Person) -> Refer:
        return Refer(self.kind, actor, self.reason, self.performer, self.sessions_requested,
                     self.referral_id)


class CloseReferralBody(ActedBody):
    status: Literal["completed", "revoked"] = Field(description="completed (the therapy ended as planned) or "
                                                                "revoked (withdrawn)")
    closed_by: Name | None = _typed_name()

    @property
    def typed_name(self) -> str | None:
        return self.closed_by

    def to_command(self, referral_id: str, actor: Person) -> CloseReferral:
        return CloseReferral(referral_id, ReferralStatus(self.status), actor)


class TherapySessionBody(ActedBody):
    referral_id: RecordId
    scheduled_start: AwareDatetime
    booked_by: Name | None = _typed_name()
    after_infusion_number: int | None = Field(None, description="integration: the course infusion it follows")
    window_exception_reason: Reason | None = Field(None, description="Why it is booked outside the integration "
                                                                     "window")
    session_id: RecordId | None = Field(None, description="Send a booked session's id to reschedule it")

    @property
    def typed_name(self) -> str | None:
        return self.booked_by

    def to_command(self) -> ScheduleTherapySession:
        return ScheduleTherapySession(self.referral_id, self.scheduled_start, self.after_infusion_number,
                                      self.window_exception_reason, self.session_id)


class AttendanceBody(ActedBody):
    attendance: Literal["attended", "missed", "cancelled"]
    recorded_by: Name | None = _typed_name()
    recorded_at: AwareDatetime | None = None

    @property
    def typed_name(self) -> str | None:
        return self.recorded_by

    def to_command(self, session_id: str, actor: Person) -> RecordAttendance:
        return RecordAttendance(session_id, Attendance(self.attendance), actor, self.recorded_at)


class PatientLinkBody(ActedBody):
    """A questionnaire link for the patient (``POST /courses/{id}/patient-links``)."""

    scale: Scale = Field(description="A scale the clinic schedules that a link can ask: phq-9 or gad-7")
    created_by: Name | None = _typed_name("The clinician making the link")

    @property
    def typed_name(self) -> str | None:
        return self.created_by
