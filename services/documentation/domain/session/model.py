"""The session record: its status, its transitions and what it holds, created for one scheduled occurrence of an
active order; and the small rules every step shares (the status a step needs, the order it belongs to, one
transition)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.administration_review import AdministrationReview
from services.documentation.domain.adverse_events import AdverseEventRecord
from services.documentation.domain.cadss import CadssAssessment, CadssNotRated
from services.documentation.domain.controlled_substance import (
    ControlledSubstanceRecord,
)
from services.documentation.domain.checks import require_aware, require_person, require_text
from services.documentation.domain.discharge import DischargeRecord
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.flowsheet import (
    FlowsheetEvent,
    VitalsAlert,
)
from services.documentation.domain.order import ActiveOrder, OccurrenceStatus, OrderStatus
from services.documentation.domain.pre_check import (
    PreCheckAttempt,
)
from services.documentation.domain.pump import (
    ChartedInfusion,
    PumpChange,
    charted_infusion,
)
from services.documentation.domain.plausibility import session_floor
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.spacing import ScheduleOverride
from services.documentation.domain.suicide_risk import (
    CssrsScreen,
    SuicideRiskReview,
)
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person

T = TypeVar("T")


class SessionStatus(enum.Enum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked-in"
    PRE_CHECK = "pre-check"
    INFUSING = "infusing"
    RECOVERING = "recovering"
    DISCHARGED = "discharged"
    ABORTED = "aborted"
    DEFERRED = "deferred"
    CANCELLED = "cancelled"  # never started: its order (or this occurrence of it) was cancelled


ENDED_STATUSES = frozenset(
    {SessionStatus.DISCHARGED, SessionStatus.ABORTED, SessionStatus.DEFERRED, SessionStatus.CANCELLED}
)
AT_CLINIC = (SessionStatus.CHECKED_IN, SessionStatus.PRE_CHECK, SessionStatus.INFUSING, SessionStatus.RECOVERING)
# Documentation goes on after an abort (the patient is still observed); a discharged session is closed.
DOCUMENTABLE = AT_CLINIC + (SessionStatus.ABORTED,)


@dataclass(frozen=True)
class Transition(DocumentationRecord):
    from_status: SessionStatus
    to_status: SessionStatus
    at: datetime
    by: Person
    reason: str = ""


@dataclass(frozen=True)
class Session(DocumentationRecord):
    session_id: str
    order_id: str
    series_id: str
    patient_id: str
    occurrence_number: int
    scheduled_start: datetime
    scheduled_end: datetime
    status: SessionStatus = SessionStatus.SCHEDULED
    transitions: tuple[Transition, ...] = ()
    pre_checks: tuple[PreCheckAttempt, ...] = ()
    readings: tuple[VitalsReading, ...] = ()
    alerts: tuple[VitalsAlert, ...] = ()
    events: tuple[FlowsheetEvent, ...] = ()
    cadss: tuple[CadssAssessment, ...] = ()
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    administration: AdministrationRecord | None = None
    discharge_record: DischargeRecord | None = None
    # The day's C-SSRS screeners (the latest counts) and the clinicians' suicide-risk reviews (issue 13 defect 5).
    cssrs_screens: tuple[CssrsScreen, ...] = ()
    suicide_risk_reviews: tuple[SuicideRiskReview, ...] = ()
    pump_changes: tuple[PumpChange, ...] = ()
    cadss_not_rated: tuple[CadssNotRated, ...] = ()
    administration_review: AdministrationReview | None = None
    controlled_substance: ControlledSubstanceRecord | None = None
    # A prescriber's decision to check in outside the window or too soon after the previous infusion (defect 6).
    check_in_override: ScheduleOverride | None = None
    # Where the patient sits (a label such as "Chair 3", given at check-in; not PHI): the suite board shows it.
    chair: str = ""

    def __post_init__(self) -> None:
        for name in ("session_id", "order_id", "series_id", "patient_id"):
            require_text(getattr(self, name), name)
        require_aware(self.scheduled_start, "scheduled_start")
        require_aware(self.scheduled_end, "scheduled_end")

    def transition_to(self, status: SessionStatus) -> Transition | None:
        """The last transition into ``status``, if the session went there."""
        return next((t for t in reversed(self.transitions) if t.to_status is status), None)

    @property
    def checked_in_at(self) -> datetime | None:
        transition = self.transition_to(SessionStatus.CHECKED_IN)
        return transition.at if transition else None

    @property
    def infusion_started_at(self) -> datetime | None:
        transition = self.transition_to(SessionStatus.INFUSING)
        return transition.at if transition else None

    @property
    def infusion_ended_at(self) -> datetime | None:
        """When the infusion ended: its end, or an abort while infusing."""
        for transition in self.transitions:
            if transition.from_status is SessionStatus.INFUSING:
                return transition.at
        return None

    @property
    def ended_at(self) -> datetime | None:
        last = self.transitions[-1] if self.transitions else None
        return last.at if last and last.to_status in ENDED_STATUSES else None

    @property
    def end_reason(self) -> str:
        last = self.transitions[-1] if self.transitions else None
        return last.reason if last and last.to_status in ENDED_STATUSES else ""

    @property
    def latest_pre_check(self) -> PreCheckAttempt | None:
        return self.pre_checks[-1] if self.pre_checks else None

    @property
    def baseline_reading(self) -> VitalsReading | None:
        """The pre-infusion reading the discharge vitals are compared with: that of the last pre-check."""
        return self.pre_checks[-1].reading if self.pre_checks else None

    @property
    def latest_cssrs(self) -> CssrsScreen | None:
        return self.cssrs_screens[-1] if self.cssrs_screens else None

    def time_floor(self, settings: SessionSettings) -> datetime:
        """The earliest plausible time of a clinical act of this session (issue 13 defect 24)."""
        return session_floor(self.scheduled_start, self.checked_in_at, settings)

    @property
    def open_alerts(self) -> tuple[VitalsAlert, ...]:
        return tuple(alert for alert in self.alerts if alert.is_open)

    def alert_for(self, reading_id: str) -> VitalsAlert | None:
        """The alert a reading raised, if any (the glue publishes ``alert-raised`` for it)."""
        return next((alert for alert in self.alerts if alert.reading_id == reading_id), None)

    def reading(self, reading_id: str) -> VitalsReading | None:
        return next((r for r in self.readings if r.reading_id == reading_id), None)

    def charted_infusion(self, order: ActiveOrder, now: datetime) -> ChartedInfusion | None:
        """The pump's segments as charted (the order's rate from the start, then each charted change), up to the
        infusion's end (or ``now`` while it runs); None before the start."""
        started_at = self.infusion_started_at
        if started_at is None:
            return None
        ended_at = self.infusion_ended_at or max(now, started_at)
        if ended_at <= started_at:
            return None
        return charted_infusion(started_at, order.rate_ml_per_h, ended_at, self.pump_changes)


def session_id_for(order: ActiveOrder, occurrence_number: int) -> str:
    """``{order_id}-{number}``: a redelivered or repeated order event names the same session, never a second one."""
    return f"{order.order_id}-{occurrence_number}"


def create_session(order: ActiveOrder, occurrence_number: int) -> Session:
    """The session for one scheduled occurrence (id from ``session_id_for``)."""
    occurrence = order.occurrence(occurrence_number)
    if occurrence.status is not OccurrenceStatus.SCHEDULED:
        raise TransitionNotAllowed(
            f"infusion {occurrence_number} of order {order.order_id} is {occurrence.status.value}"
        )
    return Session(
        session_id=session_id_for(order, occurrence.number),
        order_id=order.order_id,
        series_id=order.series_id,
        patient_id=order.patient_id,
        occurrence_number=occurrence.number,
        scheduled_start=occurrence.window_start,
        scheduled_end=occurrence.window_end,
    )


def sessions_for_order(order: ActiveOrder) -> tuple[Session, ...]:
    """A session for every occurrence still scheduled (completed or cancelled ones get none)."""
    return tuple(
        create_session(order, occurrence.number)
        for occurrence in order.occurrences
        if occurrence.status is OccurrenceStatus.SCHEDULED
    )


def apply_order_update(session: Session, order: ActiveOrder) -> Session:
    """Take a changed order's scheduled window for a session not yet started; later sessions keep their history."""
    require_order(session, order, must_be_active=False)
    if session.status is not SessionStatus.SCHEDULED:
        return session
    occurrence = order.occurrence(session.occurrence_number)
    return replace(session, scheduled_start=occurrence.window_start, scheduled_end=occurrence.window_end)


def require_status(session: Session, allowed: tuple[SessionStatus, ...], action: str) -> None:
    if session.status not in allowed:
        raise TransitionNotAllowed(f"cannot {action} a session that is {session.status.value}")


def require_pre_check(session: Session) -> PreCheckAttempt:
    if session.latest_pre_check is None:
        raise TransitionNotAllowed("no pre-infusion check recorded")
    return session.latest_pre_check


def require_order(session: Session, order: ActiveOrder, must_be_active: bool = True) -> None:
    if order.order_id != session.order_id:
        raise DocumentationInputError(
            "order.order_id", f"session {session.session_id} belongs to order {session.order_id}"
        )
    if must_be_active and order.status is not OrderStatus.ACTIVE:
        raise TransitionNotAllowed(f"order {order.order_id} is {order.status.value}")


def transition(session: Session, to_status: SessionStatus, by: Person, at: datetime, reason: str = "") -> Session:
    require_person(by, "by")
    require_aware(at, "at")
    if session.transitions and at < session.transitions[-1].at:
        previous = session.transitions[-1]
        raise DocumentationInputError(
            "at", f"before the previous step ({previous.to_status.value} at {previous.at.isoformat()})"
        )
    transition = Transition(session.status, to_status, at, by, reason.strip())
    return replace(session, status=to_status, transitions=session.transitions + (transition,))


def upsert(records: tuple[T, ...], record: T, key: str) -> tuple[T, ...]:
    """Replace the record with the same key, or append it."""
    value = getattr(record, key)
    for index, existing in enumerate(records):
        if getattr(existing, key) == value:
            return records[:index] + (record,) + records[index + 1 :]
    return records + (record,)
