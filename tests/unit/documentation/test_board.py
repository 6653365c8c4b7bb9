"""The suite board's rows (``domain/board.py``): each session state as the board names it, minutes into the infusion
or recovery, the next reading due and every overdue one (the flowsheet's own rule), alerts, CADSS, escort, and which
sessions are the clinic day's. Sessions from the documentation builders: infusion 09:10-09:50, readings every
15 min, minimum observation 30 min."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.board import (
    BoardState, board_row, board_rows, board_state, escort_confirmed, may_be_on_board, on_board, ready_to_discharge,
)
from services.documentation.domain.flowsheet import AlertAction, AlertActionKind
from services.documentation.domain.schedule import next_vital_reading_at
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.domain.settings import SessionSettings

from .builders import (
    CLINIC_TZ, NURSE, SETTINGS, at, checked_in, confirmations, discharged, infusing, make_order, pre_checked,
    ready_for_discharge, reading, recovering,
)

ORDER = make_order()


def _state(session: Session, now=at(10, 30)) -> BoardState:
    return board_state(session, now, SETTINGS)


def test_every_session_status_has_its_board_state():
    scheduled = s.create_session(ORDER, 1)
    assert _state(scheduled) is BoardState.SCHEDULED
    assert _state(checked_in()) is BoardState.CHECKED_IN
    assert _state(pre_checked()) is BoardState.CHECKED_IN  # the pre-infusion check is part of "checked in"
    assert _state(infusing()) is BoardState.INFUSING
    assert _state(recovering(), at(10, 0)) is BoardState.RECOVERING
    assert _state(discharged()) is BoardState.DISCHARGED
    assert _state(s.defer(checked_in(), "BP high", NURSE, at(9, 30))) is BoardState.DEFERRED
    assert _state(s.abort(infusing(), "vomiting", NURSE, at(9, 30))) is BoardState.ABORTED
    assert {state.value for state in BoardState} >= {"scheduled", "checked-in", "infusing", "recovering",
                                                     "ready-to-discharge", "discharged", "deferred"}


def test_ready_to_discharge_needs_the_observation_time_and_nothing_open_or_due():
    ready = ready_for_discharge()  # ended 09:50, readings 10:05 and 10:20, administration reviewed, CADSS rated
    assert not ready_to_discharge(ready, at(10, 19), SETTINGS)  # 29 min after the end: not yet
    assert ready_to_discharge(ready, at(10, 20), SETTINGS)
    assert _state(ready, at(10, 20)) is BoardState.READY_TO_DISCHARGE
    assert not ready_to_discharge(recovering(), at(10, 20), SETTINGS)  # no administration record, CADSS not rated
    # a recovery reading overdue (10:35 past its grace) takes the session back to "recovering"
    assert _state(ready, at(10, 41)) is BoardState.RECOVERING
    alerting = s.record_vitals(ready, reading("high", at(10, 21), 185, 100, 80), SETTINGS)
    assert alerting.open_alerts and _state(alerting, at(10, 22)) is BoardState.RECOVERING


def test_minutes_into_the_infusion_and_into_the_recovery():
    row = board_row(infusing(), ORDER, at(9, 33), SETTINGS)
    assert (row.minutes_in_phase, row.planned_minutes) == (23, 40)  # the order's 40 min
    row = board_row(recovering(), ORDER, at(10, 2), SETTINGS)
    assert (row.minutes_in_phase, row.planned_minutes) == (12, SETTINGS.min_recovery_observation_min)
    assert board_row(checked_in(), ORDER, at(9, 30), SETTINGS).minutes_in_phase is None
    assert board_row(discharged(), ORDER, at(11), SETTINGS).minutes_in_phase is None


def test_next_reading_due_and_overdue_readings_follow_the_flowsheet_rule():
    session = infusing()  # due 09:25, 09:40, 09:55 …; grace 5 min
    row = board_row(session, ORDER, at(9, 20), SETTINGS)
    assert (row.reading_due_at, row.reading_due_now, row.overdue_readings) == (at(9, 25), False, ())
    row = board_row(session, ORDER, at(9, 27), SETTINGS)  # within the grace: due now
    assert (row.reading_due_at, row.reading_due_now, row.overdue_readings) == (at(9, 25), True, ())
    row = board_row(session, ORDER, at(9, 31), SETTINGS)  # past the grace: overdue, and the next one shown
    assert (row.reading_due_at, row.reading_due_now, row.overdue_readings) == (at(9, 40), False, (at(9, 25),))
    assert row.needs_attention
    charted = s.record_vitals(session, reading("late", at(9, 29)), SETTINGS)  # charted within the grace
    row = board_row(charted, ORDER, at(9, 31), SETTINGS)
    assert (row.reading_due_at, row.overdue_readings, row.needs_attention) == (at(9, 40), (), False)


def test_a_reading_taken_early_counts_for_the_next_due_time():
    early = s.record_vitals(infusing(), reading("early", at(9, 37)), SETTINGS)  # 3 min before 09:40
    assert next_vital_reading_at(early, at(9, 38), SETTINGS) == at(9, 55)
    assert next_vital_reading_at(early, at(9, 30), SETTINGS) == at(9, 55)  # 09:40 already counted
    assert next_vital_reading_at(recovering(), at(10, 21), SETTINGS) == at(10, 35)  # from the end, 09:50
    assert next_vital_reading_at(checked_in(), at(9, 30), SETTINGS) is None
    assert next_vital_reading_at(discharged(), at(11), SETTINGS) is None


def test_the_clinic_s_own_intervals_are_used():
    every_5 = replace(SETTINGS, infusion_vitals_interval_min=5, vitals_grace_min=2)
    assert next_vital_reading_at(infusing(), at(9, 11), every_5) == at(9, 15)


def test_open_alerts_cadss_due_and_the_suicidality_alerts_of_the_patient():
    alerting = s.record_vitals(infusing(), reading("high", at(9, 25), 185, 100, 80), SETTINGS)
    row = board_row(alerting, ORDER, at(9, 26), SETTINGS, suicidality_alerts=1)
    assert (row.open_alerts, row.suicidality_alerts, row.needs_attention) == (1, 1, True)
    closed = s.record_action(alerting, alerting.open_alerts[0].alert_id,
                             AlertAction(AlertActionKind.OBSERVED, NURSE, at(9, 27), detail="rechecked, settling"))
    assert board_row(closed, ORDER, at(9, 28), SETTINGS).open_alerts == 0
    assert board_row(infusing(), ORDER, at(9, 51), SETTINGS).cadss_due == ("40 min after start",)
    assert board_row(discharged(), ORDER, at(11), SETTINGS, suicidality_alerts=1).suicidality_alerts == 0


def test_escort_is_the_ride_home_before_discharge_and_the_escort_at_it():
    assert escort_confirmed(checked_in()) is None
    assert escort_confirmed(pre_checked()) is True
    no_ride = pre_checked(confirmed=confirmations(ride_home_confirmed=False))
    assert escort_confirmed(no_ride) is False
    assert escort_confirmed(discharged()) is True


def test_the_chair_is_set_at_check_in():
    session = s.check_in(s.create_session(ORDER, 1), ORDER, NURSE, at(9, 0), chair=" Chair 3 ")
    assert board_row(session, ORDER, at(9, 1), SETTINGS).chair == "Chair 3"
    assert Session.from_dict(session.to_dict()).chair == "Chair 3"
    old = session.to_dict()
    del old["chair"]  # a session stored before the chair existed still loads
    assert Session.from_dict(old).chair == ""


def test_the_clinic_day_and_the_order_of_the_rows():
    today = date(2026, 3, 2)
    assert on_board(s.create_session(ORDER, 1), today, CLINIC_TZ)
    assert not on_board(s.create_session(ORDER, 2), today, CLINIC_TZ)  # three days later
    yesterday_still_here = recovering()
    assert on_board(yesterday_still_here, today + timedelta(days=1), CLINIC_TZ)  # still at the clinic
    assert not on_board(discharged(), today + timedelta(days=1), CLINIC_TZ)
    a = board_row(replace(checked_in(), chair="B", session_id="b"), ORDER, at(9, 1), SETTINGS)
    b = board_row(replace(checked_in(), chair="A", session_id="a"), ORDER, at(9, 1), SETTINGS)
    later = board_row(replace(s.create_session(ORDER, 1), scheduled_start=at(8), session_id="c"), ORDER, at(9),
                      SETTINGS)
    assert [row.session_id for row in board_rows([a, b, later])] == ["c", "a", "b"]


@pytest.mark.parametrize("status", list(SessionStatus))
def test_the_json_row_names_every_state_in_words(status):
    session = replace(s.create_session(ORDER, 1), status=status)
    row = board_row(session, ORDER, at(9, 1), SessionSettings()).to_dict()
    assert row["state_label"] and row["session_id"] == session.session_id and "name" not in row


def test_the_first_pass_over_stored_documents_keeps_every_session_the_board_shows():
    today = date(2026, 3, 2)
    sessions = [s.create_session(ORDER, 1), s.create_session(ORDER, 2), recovering(), discharged(), checked_in(),
                s.defer(checked_in(), "BP high", NURSE, at(9, 30))]
    for day in (today, today + timedelta(days=1), today + timedelta(days=3)):
        for session in sessions:
            if on_board(session, day, CLINIC_TZ):
                assert may_be_on_board(session.to_dict(), day, CLINIC_TZ), (session.status, day)
    assert not may_be_on_board(s.create_session(ORDER, 2).to_dict(), today, CLINIC_TZ)  # the cheap pass skips it
    assert may_be_on_board({"status": "scheduled"}, today, CLINIC_TZ)  # unreadable: left to the full read
