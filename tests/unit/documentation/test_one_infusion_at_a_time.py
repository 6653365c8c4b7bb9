"""One infusion of a patient at a time (HZ-170, HZ-171): the start is refused while another session of the patient
is infusing or recovering, whatever its series, and while a same-series infusion started after this session's
check-in lies within the clinic's minimum interval (the check-in never weighed it)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.session.one_at_a_time import running_elsewhere
from tests.unit.documentation.builders import (
    DOCTOR, NURSE, SETTINGS, at, baseline, confirmations, cssrs, discharged, infusing, make_order, pre_checked,
    recovering, site_ready,
)

ORDER = make_order()
OTHER_SERIES = make_order(order_id="ord-2", series_id="ser-2")


def _other(session: s.Session, session_id: str) -> s.Session:
    return replace(session, session_id=session_id)


def _refusal(others: tuple[s.Session, ...], moment=None, settings=SETTINGS) -> TransitionNotAllowed:
    with pytest.raises(TransitionNotAllowed) as refused:
        s.start_infusion(pre_checked(ORDER), ORDER, NURSE, moment or at(9, 12), settings, others=others)
    return refused.value


def test_a_start_is_refused_while_another_session_of_the_patient_is_infusing():
    other = _other(infusing(OTHER_SERIES), "ord-2-1")
    refusal = _refusal((other,))
    assert len(refusal.failing) == 1
    assert "session ord-2-1" in refusal.failing[0] and "infusing" in refusal.failing[0]
    assert "one infusion at a time" in refusal.failing[0]


def test_a_start_is_refused_while_another_session_of_the_patient_is_recovering():
    other = _other(recovering(OTHER_SERIES), "ord-2-1")
    refusal = _refusal((other,), at(10, 30))
    assert ["recovering" in reason and "ord-2-1" in reason for reason in refusal.failing] == [True]


def test_the_rule_holds_without_settings_and_is_listed_with_the_other_reasons():
    other = _other(infusing(OTHER_SERIES), "ord-2-1")
    session = pre_checked(ORDER)
    with pytest.raises(TransitionNotAllowed) as refused:
        s.start_infusion(session, make_order(dose_mg=45.0), NURSE, at(9, 12), others=(other,))
    assert len(refused.value.failing) == 2  # the other infusion and the changed order, every reason at once
    assert "ord-2-1" in refused.value.failing[0] and "order changed" in refused.value.failing[1]


@pytest.mark.parametrize("finished", ["discharged", "aborted"])
def test_an_other_series_session_discharged_or_aborted_does_not_block(finished):
    if finished == "discharged":
        other = _other(discharged(OTHER_SERIES), "ord-2-1")
    else:
        other = _other(s.abort(infusing(OTHER_SERIES), "vomiting", NURSE, at(9, 20)), "ord-2-1")
    started = s.start_infusion(pre_checked(ORDER), ORDER, NURSE, at(10, 40), SETTINGS, others=(other,))
    assert started.status is s.SessionStatus.INFUSING


def test_another_patients_running_session_or_this_session_itself_never_blocks():
    session = pre_checked(ORDER)
    someone_else = replace(infusing(OTHER_SERIES), session_id="ord-2-1", patient_id="pat-7")
    assert running_elsewhere(session, (someone_else, session)) == []
    started = s.start_infusion(session, ORDER, NURSE, at(9, 12), SETTINGS, others=(someone_else,))
    assert started.status is s.SessionStatus.INFUSING


def test_a_duplicate_session_of_the_series_started_and_discharged_after_this_check_in_blocks_the_start():
    """Both sessions were checked in before either started: the check-in's interval rule saw nothing."""
    duplicate = _other(discharged(ORDER), "ord-1-1-duplicate")
    refusal = _refusal((duplicate,), at(10, 40))
    assert len(refusal.failing) == 1
    assert "ord-1-1-duplicate" in refusal.failing[0] and "after this session was checked in" in refusal.failing[0]
    assert f"minimum is {SETTINGS.min_hours_between_infusions} h" in refusal.failing[0]


def test_a_back_charted_start_before_a_duplicates_start_is_refused_too():
    duplicate = _other(discharged(ORDER), "ord-1-1-duplicate")  # started 09:10
    assert _refusal((duplicate,), at(9, 8)).failing


def test_an_earlier_infusion_weighed_at_check_in_by_a_prescribers_override_is_not_counted_again():
    earlier = _other(discharged(ORDER), "ord-1-1-earlier")  # started 09:10, discharged 10:25
    session = s.check_in(_other(s.create_session(ORDER, 1), "ord-1-1"), ORDER, NURSE, at(10, 40), SETTINGS,
                         previous_infusion_at=earlier.infusion_started_at,
                         override_reason="patient travels tomorrow; second dose agreed", override_by=DOCTOR)
    session = s.record_pre_check(session, ORDER, baseline("pre-2", at(10, 45)), confirmations(), 80.0, SETTINGS,
                                 NURSE, at(10, 46), cssrs=cssrs(moment=at(10, 46)),
                                 site_readiness=site_ready(moment=at(10, 46)))
    started = s.start_infusion(session, ORDER, NURSE, at(10, 50), SETTINGS, others=(earlier,))
    assert started.status is s.SessionStatus.INFUSING


def test_a_same_series_infusion_at_least_the_minimum_interval_away_does_not_block():
    """The floor is the clinic's setting (``DOCUMENTATION_MIN_HOURS_BETWEEN_INFUSIONS``), not a number in the rule."""
    one_hour = replace(SETTINGS, min_hours_between_infusions=1)
    duplicate = _other(discharged(ORDER), "ord-1-1-duplicate")  # started 09:10, after the 09:00 check-in
    assert _refusal((duplicate,), at(10, 5), one_hour).failing  # 0.9 h
    started = s.start_infusion(pre_checked(ORDER), ORDER, NURSE, at(10, 10), one_hour, others=(duplicate,))
    assert started.status is s.SessionStatus.INFUSING  # 1.0 h
