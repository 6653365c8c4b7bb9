"""Sessions of today in the suite board's states, put straight into a documentation store as the order event and
the session's steps would leave them (the domain's own steps, at times relative to now): for the board's
integration and browser tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine

from services.documentation.domain import session as s
from services.documentation.domain.order import ActiveOrder, ScheduledOccurrence
from services.documentation.domain.session import Session
from services.documentation.domain.settings import SessionSettings
from services.documentation.repository import Records
from tests.unit.documentation.builders import NURSE, baseline, confirmations, cssrs, make_order, site_ready

SETTINGS = SessionSettings()


def now_minute() -> datetime:
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def order_today(order_id: str, patient_id: str, window_start: datetime) -> ActiveOrder:
    """An active order whose first infusion's window opens at ``window_start`` (the others every 3 days)."""
    occurrences = tuple(ScheduledOccurrence(n, window_start + timedelta(days=3 * (n - 1)),
                                            window_start + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    return make_order(order_id=order_id, series_id=f"ser-{order_id}", patient_id=patient_id, occurrences=occurrences)


def checked_in_at(order: ActiveOrder, at: datetime, chair: str) -> Session:
    return s.check_in(s.create_session(order, 1), order, NURSE, at, chair=chair)


def infusing_since(order: ActiveOrder, started_at: datetime, chair: str) -> Session:
    """Checked in 10 min before the start, checked (everything confirmed) 5 min before."""
    session = checked_in_at(order, started_at - timedelta(minutes=10), chair)
    checked_at = started_at - timedelta(minutes=5)
    fasted = confirmations(last_solid_food_at=checked_at - timedelta(hours=8),
                           last_clear_fluids_at=checked_at - timedelta(hours=3))
    session = s.record_pre_check(session, order, baseline("pre-1", checked_at - timedelta(minutes=1)), fasted, 80.0,
                                 SETTINGS, NURSE, checked_at, cssrs=cssrs(moment=checked_at),
                                 site_readiness=site_ready(moment=checked_at))
    return s.start_infusion(session, order, NURSE, started_at, SETTINGS)


def store(engine: Engine, orders: list[ActiveOrder], sessions: list[Session]) -> None:
    """Each order with all its sessions; ``sessions`` replace the scheduled ones of the same id."""
    given = {session.session_id: session for session in sessions}
    with engine.begin() as conn:
        for order in orders:
            Records().add_order(conn, order)
            for session in s.sessions_for_order(order):
                Records().add_session(conn, given.get(session.session_id, session))


def three_states(patients: tuple[str, str, str], prefix: str) -> tuple[list[ActiveOrder], list[Session]]:
    """Today: one infusing for 20 min (Chair 1, its 15-min reading overdue), one checked in (Chair 2), one
    scheduled; each for one of ``patients``."""
    now = now_minute()
    infusing_order = order_today(f"{prefix}-a", patients[0], now - timedelta(minutes=60))
    checked_order = order_today(f"{prefix}-b", patients[1], now - timedelta(minutes=20))
    scheduled_order = order_today(f"{prefix}-c", patients[2], now - timedelta(minutes=1))
    sessions = [infusing_since(infusing_order, now - timedelta(minutes=21), "Chair 1"),
                checked_in_at(checked_order, now - timedelta(minutes=5), "Chair 2")]
    return [infusing_order, checked_order, scheduled_order], sessions
