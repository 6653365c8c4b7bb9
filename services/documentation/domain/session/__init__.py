"""One infusion session for one scheduled occurrence of an active order, and every action on it.

scheduled → checked-in → pre-check → infusing → recovering → discharged, or deferred (before the infusion) /
aborted (from check-in on) / cancelled (still scheduled when its order or occurrence was cancelled). Each function
validates everything first and returns a new Session (records are frozen); a step the session's state does not
allow raises ``TransitionNotAllowed`` with the reason.

By topic: ``model`` (the record, its creation from the order and the rules every step shares),
``before_infusion`` (with ``one_at_a_time``: what a patient's other sessions forbid at the start), ``charting``,
``accountability`` (what was given, and the controlled substance) and
``ending``. Callers use the names exported here (``from services.documentation.domain import session as s``).
"""
from __future__ import annotations

from services.documentation.domain.session.accountability import (
    record_administration,
    record_controlled_substance,
    review_given_against_ordered,
)
from services.documentation.domain.session.before_infusion import (
    check_in,
    order_actual_weight_kg,
    override_pre_check_hold,
    record_pre_check,
    review_suicide_risk,
    start_infusion,
)
from services.documentation.domain.session.charting import (
    record_action,
    record_adverse_event,
    record_cadss,
    record_cadss_not_rated,
    record_event,
    record_pump_change,
    record_vitals,
)
from services.documentation.domain.session.ending import (
    abort,
    cancel,
    complete_follow_up_call,
    defer,
    discharge,
    end_infusion,
)
from services.documentation.domain.session.model import (
    ENDED_STATUSES,
    Session,
    SessionStatus,
    Transition,
    apply_order_update,
    create_session,
    session_id_for,
    sessions_for_order,
)

__all__ = [
    "ENDED_STATUSES", "Session", "SessionStatus", "Transition", "abort", "apply_order_update", "cancel", "check_in",
    "complete_follow_up_call", "create_session", "defer", "discharge", "end_infusion", "order_actual_weight_kg",
    "override_pre_check_hold", "record_action", "record_administration", "record_adverse_event", "record_cadss",
    "record_cadss_not_rated", "record_controlled_substance", "record_event", "record_pre_check",
    "record_pump_change", "record_vitals", "review_given_against_ordered", "review_suicide_risk", "session_id_for",
    "sessions_for_order", "start_infusion",
]
