"""One infusion of a patient at a time: what the patient's other sessions forbid about starting this one.

Two sessions of one patient can be open together (two nurses, two chairs, a duplicate session for the same day's
occurrence), and each session's own rules would let both start: a double dose. The start is therefore refused
while another session of the patient is infusing or recovering (the patient is in a chair after a dose: a second
dose that day is never the protocol), whatever its series, and never overridable: ending, discharging or aborting
the other session is the way on, or charting in it.

The minimum interval (``DOCUMENTATION_MIN_HOURS_BETWEEN_INFUSIONS``, ``spacing.py``) is checked at check-in
against the series' earlier infusions. An infusion of the same series started after this session's check-in (a
duplicate session that started and was discharged meanwhile) was never weighed by that check, nor by a
prescriber's override of it, so the start checks it again, in either direction of time (a back-charted start)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.documentation.domain.session.model import Session, SessionStatus
from services.documentation.domain.settings import SessionSettings

RUNNING = (SessionStatus.INFUSING, SessionStatus.RECOVERING)


def _minutes(at: datetime) -> str:
    return at.isoformat(timespec="minutes")


def running_elsewhere(session: Session, others: Iterable[Session]) -> list[str]:
    """A reason for each other session of the patient that is infusing or recovering now (ids and times only)."""
    reasons = []
    for other in others:
        if other.session_id == session.session_id or other.patient_id != session.patient_id:
            continue
        if other.status in RUNNING:
            since = other.infusion_started_at
            reasons.append(
                f"another infusion of this patient is {other.status.value}: session {other.session_id} (infusion "
                f"{other.occurrence_number}, started {_minutes(since) if since else 'unknown'}); a patient has one "
                "infusion at a time: discharge or abort that session first, or chart in it")
    return reasons


def unweighed_recent_infusions(session: Session, others: Iterable[Session], at: datetime,
                               settings: SessionSettings) -> list[str]:
    """A reason for each infusion of the same series started after this session's check-in and less than the
    clinic's minimum interval from ``at``: the check-in's interval rule (and any override of it) never saw it."""
    checked_in_at = session.checked_in_at
    if checked_in_at is None:
        return []
    minimum_h = settings.min_hours_between_infusions
    reasons = []
    for other in others:
        started = other.infusion_started_at
        if (other.session_id == session.session_id or other.patient_id != session.patient_id
                or other.series_id != session.series_id or started is None or started <= checked_in_at
                or other.status in RUNNING):  # a running one is reported by running_elsewhere
            continue
        hours = abs((at - started).total_seconds()) / 3600
        if hours < minimum_h:
            reasons.append(
                f"session {other.session_id} (infusion {other.occurrence_number}) of this series started an "
                f"infusion at {_minutes(started)}, {hours:.1f} h from this start, after this session was checked "
                f"in; the clinic's minimum is {minimum_h} h between infusions: no second infusion on one day")
    return reasons


def other_sessions_block(session: Session, others: Iterable[Session], at: datetime,
                         settings: SessionSettings | None) -> list[str]:
    """Every reason the patient's other sessions give against starting ``session`` at ``at``."""
    others = tuple(others)
    reasons = running_elsewhere(session, others)
    if settings is not None:
        reasons += unweighed_recent_infusions(session, others, at, settings)
    return reasons
