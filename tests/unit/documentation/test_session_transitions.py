import json

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from shared.people import ketalink

from .builders import (
    NURSE,
    SETTINGS,
    at,
    checked_in,
    discharged,
    infusing,
    make_order,
    pre_checked,
    reading,
    recovering,
)

S = s.SessionStatus


def test_happy_path_goes_through_every_state_with_time_and_who():
    session = discharged()
    assert [(t.from_status, t.to_status) for t in session.transitions] == [
        (S.SCHEDULED, S.CHECKED_IN),
        (S.CHECKED_IN, S.PRE_CHECK),
        (S.PRE_CHECK, S.INFUSING),
        (S.INFUSING, S.RECOVERING),
        (S.RECOVERING, S.DISCHARGED),
    ]
    assert [t.at for t in session.transitions] == [at(9, 0), at(9, 6), at(9, 10), at(9, 50), at(10, 25)]
    assert all(t.by == NURSE for t in session.transitions)
    assert (session.checked_in_at, session.infusion_started_at, session.infusion_ended_at, session.ended_at) == (
        at(9, 0),
        at(9, 10),
        at(9, 50),
        at(10, 25),
    )


def test_functions_return_a_new_session_and_leave_the_old_one():
    session = checked_in()
    assert s.defer(session, "BP 170/100 on recheck", NURSE, at(9, 20)).status is S.DEFERRED
    assert session.status is S.CHECKED_IN


@pytest.mark.parametrize(
    "build, step, message",
    [
        (
            checked_in,
            lambda x, o: s.start_infusion(x, o, NURSE, at(9, 10)),
            "cannot start the infusion of a session that is checked-in",
        ),
        (
            infusing,
            lambda x, o: s.discharge(x, None, SETTINGS, NURSE, at(10)),
            "cannot discharge a session that is infusing",
        ),
        (infusing, lambda x, o: s.defer(x, "late", NURSE, at(10)), "cannot defer a session that is infusing"),
        (
            lambda o: s.create_session(o, 1),
            lambda x, o: s.abort(x, "no-show", NURSE, at(10)),
            "cannot abort a session that is scheduled",
        ),
        (
            discharged,
            lambda x, o: s.record_vitals(x, reading("late", at(11)), SETTINGS),
            "cannot record vitals for a session that is discharged",
        ),
        (
            recovering,
            lambda x, o: s.end_infusion(x, NURSE, at(10)),
            "cannot end the infusion of a session that is recovering",
        ),
        (pre_checked, lambda x, o: s.check_in(x, o, NURSE, at(9, 30)), "cannot check in a session that is pre-check"),
    ],
)
def test_steps_the_state_does_not_allow_raise_transition_not_allowed(build, step, message):
    order = make_order()
    with pytest.raises(TransitionNotAllowed) as error:
        step(build(order), order)
    assert error.value.reason == message


def test_a_step_cannot_be_dated_before_the_previous_one():
    with pytest.raises(DocumentationInputError) as error:
        s.end_infusion(infusing(), NURSE, at(9, 5))
    assert error.value.field == "at"


def test_steps_need_who_and_an_aware_time():
    from datetime import datetime

    with pytest.raises(DocumentationInputError) as error:
        s.end_infusion(infusing(), "", at(9, 50))
    assert error.value.field == "by"
    with pytest.raises(DocumentationInputError) as error:
        s.end_infusion(infusing(), NURSE, datetime(2026, 3, 2, 9, 50))
    assert error.value.field == "at"


def test_defer_and_abort_keep_their_reason():
    deferred = s.defer(pre_checked(), "BP 152/96 on recheck at rest", NURSE, at(9, 20))
    assert deferred.end_reason == "BP 152/96 on recheck at rest" and deferred.ended_at == at(9, 20)
    with pytest.raises(DocumentationInputError) as error:
        s.defer(pre_checked(), "", NURSE, at(9, 20))
    assert error.value.field == "reason"


def test_abort_during_infusion_ends_the_infusion_there():
    aborted = s.abort(infusing(), "emergence reaction, infusion stopped", NURSE, at(9, 30))
    assert aborted.status is S.ABORTED
    assert aborted.infusion_ended_at == at(9, 30)
    assert aborted.transition_to(S.RECOVERING) is None


def test_session_round_trips_through_json():
    session = discharged()
    stored = json.loads(json.dumps(session.to_dict()))
    assert s.Session.from_dict(stored) == session
    assert stored["status"] == "discharged"
    assert stored["transitions"][0]["at"] == "2026-03-02T09:00:00+01:00"


def test_corrupt_stored_session_names_the_field():
    stored = discharged().to_dict()
    stored["readings"][1]["measured_at"] = "2026-03-02T09:40:00"
    with pytest.raises(DocumentationInputError) as error:
        s.Session.from_dict(stored)
    assert error.value.field == "readings[1].measured_at"
    assert "timezone" in error.value.message
    stored = discharged().to_dict()
    stored["status"] = "finished"
    with pytest.raises(DocumentationInputError) as error:
        s.Session.from_dict(stored)
    assert error.value.field == "status"
    stored = discharged().to_dict()
    stored["pre_checks"][0]["reading"]["spo2_percent"] = 101
    with pytest.raises(DocumentationInputError) as error:
        s.Session.from_dict(stored)
    assert error.value.field == "pre_checks[0].reading.spo2_percent"
    stored = discharged().to_dict()
    stored["nickname"] = "x"
    with pytest.raises(DocumentationInputError, match="unknown field"):
        s.Session.from_dict(stored)


def test_cancel_ends_a_session_that_never_began_keeping_who_and_why():
    scheduled = s.create_session(make_order(), 2)
    cancelled = s.cancel(scheduled, " order cancelled by the prescriber ", ketalink("Ketalink orders service"), at(8))
    assert cancelled.status is S.CANCELLED and cancelled.status in s.ENDED_STATUSES
    assert cancelled.end_reason == "order cancelled by the prescriber" and cancelled.ended_at == at(8)
    assert cancelled.transitions[-1].by == ketalink("Ketalink orders service")
    assert s.Session.from_dict(json.loads(json.dumps(cancelled.to_dict()))) == cancelled


def test_cancel_is_only_for_a_scheduled_session_and_needs_a_reason():
    with pytest.raises(TransitionNotAllowed) as error:
        s.cancel(checked_in(), "order cancelled", NURSE, at(9, 5))
    assert error.value.reason == "cannot cancel a session that is checked-in"
    with pytest.raises(DocumentationInputError) as error:
        s.cancel(s.create_session(make_order(), 1), " ", NURSE, at(8))
    assert error.value.field == "reason"
    cancelled = s.cancel(s.create_session(make_order(), 1), "order cancelled", NURSE, at(8))
    with pytest.raises(TransitionNotAllowed):
        s.check_in(cancelled, make_order(), NURSE, at(9))
