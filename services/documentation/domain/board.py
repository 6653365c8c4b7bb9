"""The infusion suite board: one row per session of the clinic day, for the nurses running the chairs. Pure: each
row is read from the session, its order and the clinic's settings at ``now``, with the flowsheet's own rules
(``schedule``: what is due or missed, the next reading; the discharge rules that need no assessment), never a copy.

"Ready to discharge" is a hint, not a decision: a recovering session whose minimum observation time has passed,
with no open alert, no reading or CADSS due or missed, and the administration record reviewed. The discharge itself
still checks every criterion (vitals near baseline, mental status, Aldrete, escort, instructions)."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.schedule import DueState, due_cadss, due_vital_readings, next_vital_reading_at
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.domain.session.model import AT_CLINIC
from services.documentation.domain.settings import SessionSettings


class BoardState(enum.Enum):
    SCHEDULED = "scheduled"
    CHECKED_IN = "checked-in"  # checked in, the pre-infusion check under way or done
    INFUSING = "infusing"
    RECOVERING = "recovering"
    READY_TO_DISCHARGE = "ready-to-discharge"
    DISCHARGED = "discharged"
    DEFERRED = "deferred"
    ABORTED = "aborted"
    CANCELLED = "cancelled"


STATE_LABELS = {
    BoardState.SCHEDULED: "Scheduled", BoardState.CHECKED_IN: "Checked in", BoardState.INFUSING: "Infusing",
    BoardState.RECOVERING: "Recovering", BoardState.READY_TO_DISCHARGE: "Ready to discharge",
    BoardState.DISCHARGED: "Discharged", BoardState.DEFERRED: "Deferred", BoardState.ABORTED: "Aborted",
    BoardState.CANCELLED: "Cancelled",
}
_AT_CLINIC_VALUES = frozenset(status.value for status in AT_CLINIC)
_BY_STATUS = {
    SessionStatus.SCHEDULED: BoardState.SCHEDULED, SessionStatus.CHECKED_IN: BoardState.CHECKED_IN,
    SessionStatus.PRE_CHECK: BoardState.CHECKED_IN, SessionStatus.INFUSING: BoardState.INFUSING,
    SessionStatus.RECOVERING: BoardState.RECOVERING, SessionStatus.DISCHARGED: BoardState.DISCHARGED,
    SessionStatus.DEFERRED: BoardState.DEFERRED, SessionStatus.ABORTED: BoardState.ABORTED,
    SessionStatus.CANCELLED: BoardState.CANCELLED,
}


@dataclass(frozen=True)
class BoardRow:
    """What the board shows of one session (ids only: the patient's name is added by the page, for staff)."""

    session_id: str
    patient_id: str
    chair: str
    occurrence_number: int
    infusion_count: int
    scheduled_start: datetime
    state: BoardState
    minutes_in_phase: int | None  # into the infusion (infusing) or the recovery (recovering, ready)
    planned_minutes: int | None  # the order's infusion time, or the minimum observation time in recovery
    reading_due_at: datetime | None  # a reading due now (within the grace), else the next one
    reading_due_now: bool
    overdue_readings: tuple[datetime, ...]  # due times past the grace with no reading
    open_alerts: int  # vitals alerts without an action
    suicidality_alerts: int  # the course's open suicidality alerts for the patient
    cadss_due: tuple[str, ...]
    escort_confirmed: bool | None  # None: not asked yet (before the pre-infusion check)

    @property
    def needs_attention(self) -> bool:
        return bool(self.overdue_readings or self.open_alerts or self.suicidality_alerts or self.reading_due_now
                    or self.cadss_due)

    def to_dict(self) -> dict[str, object]:
        return {
            "session_id": self.session_id, "patient_id": self.patient_id, "chair": self.chair or None,
            "occurrence_number": self.occurrence_number, "infusion_count": self.infusion_count,
            "scheduled_start": self.scheduled_start.isoformat(), "state": self.state.value,
            "state_label": STATE_LABELS[self.state], "minutes_in_phase": self.minutes_in_phase,
            "planned_minutes": self.planned_minutes,
            "reading_due_at": self.reading_due_at.isoformat() if self.reading_due_at else None,
            "reading_due_now": self.reading_due_now,
            "overdue_readings": [moment.isoformat() for moment in self.overdue_readings],
            "open_alerts": self.open_alerts, "suicidality_alerts": self.suicidality_alerts,
            "cadss_due": list(self.cadss_due), "escort_confirmed": self.escort_confirmed,
            "needs_attention": self.needs_attention,
        }


def on_board(session: Session, day: date, zone: tzinfo) -> bool:
    """The clinic day's sessions: scheduled to start on ``day`` (the clinic's zone), and any still at the clinic."""
    return session.scheduled_start.astimezone(zone).date() == day or session.status in AT_CLINIC


def may_be_on_board(document: dict[str, Any], day: date, zone: tzinfo) -> bool:
    """``on_board`` read from a stored session's JSON, before the whole session is read (the cheap first pass over
    every session of the clinic); a document this cannot read is kept, for the full read to judge."""
    try:
        if document["status"] in _AT_CLINIC_VALUES:
            return True
        return datetime.fromisoformat(document["scheduled_start"]).astimezone(zone).date() == day
    except (KeyError, TypeError, ValueError):
        return True


def ready_to_discharge(session: Session, now: datetime, settings: SessionSettings) -> bool:
    """Recovering, observed for the minimum time, nothing open or due: see the module's note."""
    ended_at = session.infusion_ended_at
    if session.status is not SessionStatus.RECOVERING or ended_at is None:
        return False
    observed = now - ended_at >= timedelta(minutes=settings.min_recovery_observation_min)
    reviewed = (session.administration is not None and session.administration_review is not None
                and session.administration_review.matches(session.administration))
    return (observed and reviewed and not session.open_alerts and not due_vital_readings(session, now, settings)
            and not due_cadss(session, now, settings, at_discharge=True))


def board_state(session: Session, now: datetime, settings: SessionSettings) -> BoardState:
    if ready_to_discharge(session, now, settings):
        return BoardState.READY_TO_DISCHARGE
    return _BY_STATUS[session.status]


def escort_confirmed(session: Session) -> bool | None:
    """At discharge, the escort present; before it, the ride home confirmed at the latest pre-infusion check."""
    if session.discharge_record is not None:
        return session.discharge_record.assessment.escort_present
    latest = session.latest_pre_check
    return None if latest is None else latest.confirmations.ride_home_confirmed


def board_row(session: Session, order: ActiveOrder, now: datetime, settings: SessionSettings,
              suicidality_alerts: int = 0) -> BoardRow:
    state = board_state(session, now, settings)
    due = due_vital_readings(session, now, settings) if session.status in AT_CLINIC else []
    due_now = [item.due_at for item in due if item.state is DueState.DUE]
    minutes, planned = _phase_minutes(session, order, now, settings)
    return BoardRow(
        session_id=session.session_id, patient_id=session.patient_id, chair=session.chair,
        occurrence_number=session.occurrence_number, infusion_count=order.infusion_count,
        scheduled_start=session.scheduled_start, state=state, minutes_in_phase=minutes, planned_minutes=planned,
        reading_due_at=due_now[0] if due_now else next_vital_reading_at(session, now, settings),
        reading_due_now=bool(due_now),
        overdue_readings=tuple(item.due_at for item in due if item.state is DueState.MISSED),
        open_alerts=len(session.open_alerts),
        suicidality_alerts=suicidality_alerts if session.status in AT_CLINIC + (SessionStatus.SCHEDULED,) else 0,
        cadss_due=tuple(item.label for item in due_cadss(session, now, settings))
        if session.status in AT_CLINIC else (),
        escort_confirmed=escort_confirmed(session),
    )


def board_rows(rows: list[BoardRow]) -> list[BoardRow]:
    """In the order of the day: by scheduled start, then chair."""
    return sorted(rows, key=lambda row: (row.scheduled_start, row.chair, row.session_id))


def _phase_minutes(session: Session, order: ActiveOrder, now: datetime,
                   settings: SessionSettings) -> tuple[int | None, int | None]:
    started_at, ended_at = session.infusion_started_at, session.infusion_ended_at
    if session.status is SessionStatus.INFUSING and started_at is not None:
        return _whole_minutes(now - started_at), order.duration_min
    if session.status is SessionStatus.RECOVERING and ended_at is not None:
        return _whole_minutes(now - ended_at), settings.min_recovery_observation_min
    return None, None


def _whole_minutes(elapsed: timedelta) -> int:
    return max(0, int(elapsed.total_seconds() // 60))
