"""The treatment course of one patient: every infusion given (induction and maintenance, across the orders' series),
the scores over time, adverse events, suicidality alerts, psychotherapy integration, the goal, open tasks and the
history of its states with who decided what and why (the progress notes).

States: ``induction`` → ``response-check`` once the planned induction infusions are given → ``maintenance`` at its
interval → ``reevaluation-due`` (by date, or on a loss of response or a relapse after remission) → ``stopped`` with
the reason. From the response check the clinician may also extend the induction (a documented choice); from a
re-evaluation continue maintenance or start a new induction. The transitions live in ``course.py``."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from shared.people import Person, ketalink
from services.orders.course.domain.goals import OutcomeGoal
from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.suicidality import SuicidalityAlert
from services.orders.course.domain.therapy import TherapyReferral, TherapySession
from services.orders.domain.series import SeriesPhase
from shared.records import JsonRecord
from shared.scales import Scale

SYSTEM_ACTOR = ketalink("Ketalink")  # ``by`` of the transitions the rules make on their own (the Device)


class CourseStatus(enum.Enum):
    INDUCTION = "induction"
    RESPONSE_CHECK = "response-check"
    MAINTENANCE = "maintenance"
    REEVALUATION_DUE = "reevaluation-due"
    STOPPED = "stopped"


class StopReason(enum.Enum):
    GOALS_MET = "goals-met"
    NON_RESPONSE = "non-response"
    LOSS_OF_RESPONSE = "loss-of-response"
    RELAPSE = "relapse"  # after remission
    ADVERSE_EVENT = "adverse-event"
    CONTRAINDICATION = "contraindication"  # a new one (e.g. pregnancy, uncontrolled hypertension)
    PATIENT_CHOICE = "patient-choice"
    LOST_TO_FOLLOW_UP = "lost-to-follow-up"
    OTHER = "other"  # needs a detail


class TransitionKind(enum.Enum):
    STARTED = "started"
    INDUCTION_COMPLETED = "induction-completed"
    INDUCTION_EXTENDED = "induction-extended"
    MAINTENANCE_STARTED = "maintenance-started"
    MAINTENANCE_CONTINUED = "maintenance-continued"
    INTERVAL_CHANGED = "interval-changed"
    REEVALUATION_DUE = "reevaluation-due"
    REINDUCTION_STARTED = "reinduction-started"
    STOPPED = "stopped"


class TaskKind(enum.Enum):
    RESPONSE_REVIEW = "response-review"  # a responder after induction: decide maintenance
    REEVALUATION = "reevaluation"  # non-response, loss of response, relapse or maintenance re-evaluation due


class TaskStatus(enum.Enum):
    OPEN = "open"
    DONE = "done"


class AdverseEventSeverity(enum.Enum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


@dataclass(frozen=True)
class CourseInfusion(JsonRecord):
    """One infusion given, as documentation's ``session-completed`` reports it (keyed by its session)."""

    number: int  # in the course, 1-based, in the order given
    session_id: str
    given_at: datetime  # infusion start
    phase: SeriesPhase
    dose_mg: float
    dose_mg_per_kg: float | None = None
    series_id: str | None = None
    order_id: str | None = None
    stopped_early: bool = False


@dataclass(frozen=True)
class CourseAdverseEvent(JsonRecord):
    """An adverse event of an infusion session; ``kind`` is documentation's code (``nausea``, ``emergence-reaction``,
    ...), kept as given because the course only counts and lists them."""

    event_id: str
    session_id: str
    kind: str
    severity: AdverseEventSeverity
    onset_at: datetime
    serious: bool = False


class ClinicalEventKind(enum.Enum):
    """Events that count as a relapse after remission (SUSTAIN-1, CLINICAL.md), recorded by a clinician."""

    PSYCHIATRIC_HOSPITALISATION = "psychiatric-hospitalisation"
    SUICIDE_ATTEMPT = "suicide-attempt"

    @property
    def text(self) -> str:
        return self.value.replace("-", " ")


@dataclass(frozen=True)
class ClinicalEvent(JsonRecord):
    """A hospitalisation or suicide attempt the clinician learned of (keyed by ``event_id``: the same id again
    updates it)."""

    event_id: str
    kind: ClinicalEventKind
    occurred_at: datetime
    recorded_by: Person
    detail: str = ""


@dataclass(frozen=True)
class CourseTask(JsonRecord):
    task_id: str
    kind: TaskKind
    due_on: date
    reason: str
    created_at: datetime
    status: TaskStatus = TaskStatus.OPEN
    closed_at: datetime | None = None
    closed_by: Person | None = None


@dataclass(frozen=True)
class CourseTransition(JsonRecord):
    """One entry of the course's history: a progress note saying what changed, who decided and why."""

    at: datetime
    by: Person
    kind: TransitionKind
    to_status: CourseStatus
    note: str
    from_status: CourseStatus | None = None


@dataclass(frozen=True)
class CourseStop(JsonRecord):
    reason: StopReason
    stopped_at: datetime
    stopped_by: Person
    detail: str = ""


@dataclass(frozen=True)
class TreatmentCourse(JsonRecord):
    course_id: str
    patient_id: str
    started_at: datetime
    status: CourseStatus
    induction_infusions_planned: int
    # A re-induction counts its infusions from the decision; None for the course's first induction, which counts
    # every induction infusion (one charted late, or by a clock a little behind the sign's, still counts).
    induction_started_at: datetime | None = None
    infusions: tuple[CourseInfusion, ...] = ()
    scores: tuple[ScaleScore, ...] = ()
    cssrs_screens: tuple[CssrsScreening, ...] = ()
    adverse_events: tuple[CourseAdverseEvent, ...] = ()
    clinical_events: tuple[ClinicalEvent, ...] = ()  # hospitalisations and suicide attempts (relapse after remission)
    alerts: tuple[SuicidalityAlert, ...] = ()
    referrals: tuple[TherapyReferral, ...] = ()
    therapy_sessions: tuple[TherapySession, ...] = ()
    goals: tuple[OutcomeGoal, ...] = ()
    tasks: tuple[CourseTask, ...] = ()
    transitions: tuple[CourseTransition, ...] = ()
    series_ids: tuple[str, ...] = ()
    maintenance_interval_days: int | None = None
    reevaluation_due_on: date | None = None  # in maintenance: the next scheduled re-evaluation
    stop: CourseStop | None = None

    @property
    def current_induction_infusions(self) -> tuple[CourseInfusion, ...]:
        """Induction infusions of the current (re-)induction."""
        since = self.induction_started_at
        return tuple(i for i in self.infusions
                     if i.phase is SeriesPhase.INDUCTION and (since is None or i.given_at >= since))

    @property
    def last_infusion(self) -> CourseInfusion | None:
        return self.infusions[-1] if self.infusions else None

    @property
    def open_tasks(self) -> tuple[CourseTask, ...]:
        return tuple(t for t in self.tasks if t.status is TaskStatus.OPEN)

    @property
    def open_alerts(self) -> tuple[SuicidalityAlert, ...]:
        return tuple(a for a in self.alerts if a.is_open)

    def scores_of(self, scale: Scale) -> tuple[ScaleScore, ...]:
        """The scale's scores, oldest first."""
        return tuple(sorted((s for s in self.scores if s.scale is scale), key=lambda s: s.measured_at))

    def infusion(self, number: int) -> CourseInfusion | None:
        return next((i for i in self.infusions if i.number == number), None)

    def referral(self, referral_id: str) -> TherapyReferral | None:
        return next((r for r in self.referrals if r.referral_id == referral_id), None)
