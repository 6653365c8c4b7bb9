"""What is due on the flowsheet: vitals readings every interval from the infusion start (and from its end during
recovery), and CADSS ratings at the configured times. A reading within the grace either side of a due time
counts for it; past the grace with none, the time is missed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.documentation.domain.session import Session, SessionStatus
from services.documentation.domain.settings import SessionSettings


class DueState(enum.Enum):
    DUE = "due"  # the time has come and the grace has not passed
    MISSED = "missed"  # the grace has passed with no reading


class Phase(enum.Enum):
    INFUSION = "infusion"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class DueReading:
    due_at: datetime
    state: DueState
    phase: Phase


@dataclass(frozen=True)
class DueCadss:
    """A configured CADSS timepoint not yet rated whose time has come."""

    label: str
    due_at: datetime
    scheduled_minute: int | None
    end_of_recovery: bool


def due_vital_readings(session: Session, now: datetime, settings: SessionSettings) -> list[DueReading]:
    """Every due time up to ``now`` (or the session's end) that has no reading: missed ones, then any due now."""
    started_at = session.infusion_started_at
    if started_at is None:
        return []
    horizon = min(now, session.ended_at) if session.ended_at else now
    infusion_ended_at = session.infusion_ended_at
    due_times = [
        (moment, Phase.INFUSION)
        for moment in _every(started_at, settings.infusion_vitals_interval_min, horizon)
        if infusion_ended_at is None or moment < infusion_ended_at
    ]
    if infusion_ended_at is not None and session.transition_to(SessionStatus.RECOVERING) is not None:
        due_times += [
            (moment, Phase.RECOVERY)
            for moment in _every(infusion_ended_at, settings.recovery_vitals_interval_min, horizon)
        ]
    grace = timedelta(minutes=settings.vitals_grace_min)
    result = []
    for due_at, phase in due_times:
        if _covered(session, due_at, grace):
            continue
        state = DueState.MISSED if now > due_at + grace else DueState.DUE
        result.append(DueReading(due_at, state, phase))
    return result


def next_vital_reading_due(session: Session, now: datetime, settings: SessionSettings) -> datetime | None:
    """The reading a nurse should take next: one due now (within its grace, not yet taken), else the next due time
    after ``now`` that no reading (taken early, within the grace) already covers. None before the infusion starts
    and once the session has ended. The same due times as ``due_vital_readings``; missed ones are not "next"."""
    started_at = session.infusion_started_at
    if started_at is None or session.ended_at is not None:
        return None
    due_now = [due.due_at for due in due_vital_readings(session, now, settings) if due.state is DueState.DUE]
    if due_now:
        return due_now[0]
    ended_at = session.infusion_ended_at
    if ended_at is None:
        start, interval = started_at, settings.infusion_vitals_interval_min
    elif session.transition_to(SessionStatus.RECOVERING) is not None:
        start, interval = ended_at, settings.recovery_vitals_interval_min
    else:
        return None
    grace, step = timedelta(minutes=settings.vitals_grace_min), timedelta(minutes=interval)
    elapsed = max(now - start, timedelta(0))
    moment = start + step * (elapsed // step + 1)
    while any(abs(reading.measured_at - moment) <= grace for reading in session.readings):
        moment += step
    return moment


def next_vital_reading_at(session: Session, now: datetime, settings: SessionSettings) -> datetime | None:
    """The first due time after ``now`` of the phase running now (the infusion, or the recovery after it) that no
    reading already counts for; None when neither runs. The same intervals and grace as ``due_vital_readings``."""
    if session.status is SessionStatus.INFUSING and session.infusion_started_at is not None:
        anchor, interval_min = session.infusion_started_at, settings.infusion_vitals_interval_min
    elif session.status is SessionStatus.RECOVERING and session.infusion_ended_at is not None:
        anchor, interval_min = session.infusion_ended_at, settings.recovery_vitals_interval_min
    else:
        return None
    interval, grace = timedelta(minutes=interval_min), timedelta(minutes=settings.vitals_grace_min)
    due_at = anchor + interval * (max(now - anchor, timedelta(0)) // interval + 1)
    while _covered(session, due_at, grace):  # a reading taken early (within the grace) counts for it
        due_at += interval
    return due_at


def _covered(session: Session, due_at: datetime, grace: timedelta) -> bool:
    """A reading within the grace either side of ``due_at`` counts for it."""
    return any(abs(reading.measured_at - due_at) <= grace for reading in session.readings)


def due_cadss(session: Session, now: datetime, settings: SessionSettings, at_discharge: bool = False) -> list[DueCadss]:
    """Configured CADSS timepoints whose time has come (before the session ended) and that have neither a rating
    nor a recorded reason it was not rated. The end-of-recovery rating falls due when the minimum observation
    time after the infusion has passed, and ``at_discharge`` in any case: recovery ends there, so a discharge
    before the minimum observation time (an override) must not drop it unrated and unmentioned."""
    started_at = session.infusion_started_at
    if started_at is None:
        return []
    horizon = min(now, session.ended_at) if session.ended_at else now
    rated_minutes = {a.scheduled_minute for a in session.cadss if a.scheduled_minute is not None}
    rated_minutes |= {n.scheduled_minute for n in session.cadss_not_rated if n.scheduled_minute is not None}
    end_of_recovery_done = any(a.end_of_recovery for a in session.cadss) or any(
        n.end_of_recovery for n in session.cadss_not_rated)
    result = [
        DueCadss(f"{minute} min after start", started_at + timedelta(minutes=minute), minute, False)
        for minute in sorted(settings.cadss_minutes_after_start)
        if minute not in rated_minutes and started_at + timedelta(minutes=minute) <= horizon
    ]
    infusion_ended_at = session.infusion_ended_at
    recovered = session.transition_to(SessionStatus.RECOVERING) is not None
    if settings.cadss_at_end_of_recovery and infusion_ended_at is not None and recovered:
        due_at = infusion_ended_at + timedelta(minutes=settings.min_recovery_observation_min)
        if at_discharge:
            due_at = min(due_at, now)
        if due_at <= horizon and not end_of_recovery_done:
            result.append(DueCadss("end of recovery", due_at, None, True))
    return result


def _every(start: datetime, interval_min: int, until: datetime) -> list[datetime]:
    times = []
    moment = start + timedelta(minutes=interval_min)
    while moment <= until:
        times.append(moment)
        moment += timedelta(minutes=interval_min)
    return times
