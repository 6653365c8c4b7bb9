"""Issue 13 defect 6 at the check-in: an infusion begins inside its scheduled window and not sooner than the clinic's
minimum interval after the patient's previous infusion, unless a prescriber overrides with a documented reason."""
from dataclasses import replace
from datetime import timedelta

import pytest

from services.documentation.domain import session as s
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.note_text import generate_note
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.spacing import previous_infusion

from .builders import DOCTOR, NURSE, SETTINGS, at, make_order

ORDER = make_order()  # infusion 1 in 2026-03-02 09:00-11:00, infusion 2 in 2026-03-05 09:00-11:00 (UTC+01:00)


def _session(number: int = 2) -> s.Session:
    return s.create_session(ORDER, number)


def test_check_in_days_before_the_window_is_refused():
    with pytest.raises(TransitionNotAllowed) as caught:
        s.check_in(_session(2), ORDER, NURSE, at(9, 30, day=2), SETTINGS)
    assert "before the infusion's scheduled window" in caught.value.reason
    assert "prescriber may override" in caught.value.reason


def test_check_in_after_the_window_is_refused():
    with pytest.raises(TransitionNotAllowed) as caught:
        s.check_in(_session(2), ORDER, NURSE, at(11, 30, day=5), SETTINGS)
    assert "after the infusion's scheduled window" in caught.value.failing[0]


def test_check_in_within_the_window_and_long_enough_after_the_previous_infusion_is_allowed():
    session = s.check_in(_session(2), ORDER, NURSE, at(9, 30, day=5), SETTINGS, previous_infusion_at=at(9, 10, day=2))
    assert session.status is s.SessionStatus.CHECKED_IN and session.check_in_override is None


def test_check_in_too_soon_after_the_previous_infusion_is_refused_even_inside_the_window():
    order = make_order(occurrences=tuple(replace(o, window_start=at(0, 0, day=2 + 3 * (o.number - 1)),
                                                 window_end=at(23, 0, day=2 + 3 * (o.number - 1)) + timedelta(days=2))
                                         for o in ORDER.occurrences))
    with pytest.raises(TransitionNotAllowed) as caught:
        s.check_in(s.create_session(order, 2), order, NURSE, at(12, 0, day=5), SETTINGS,
                   previous_infusion_at=at(9, 0, day=5))
    assert caught.value.failing == ("3.0 h after the previous infusion (started 2026-03-05T09:00+01:00); the "
                                    "clinic's minimum is 24 h",)


def test_both_rules_are_named_when_both_fail():
    with pytest.raises(TransitionNotAllowed) as caught:
        s.check_in(_session(2), ORDER, NURSE, at(12, 0, day=2), SETTINGS, previous_infusion_at=at(9, 10, day=2))
    assert len(caught.value.failing) == 2


def test_a_prescribers_override_with_a_reason_is_accepted_and_kept_with_what_it_set_aside():
    session = s.check_in(_session(2), ORDER, NURSE, at(9, 30, day=4), SETTINGS, previous_infusion_at=at(9, 10, day=2),
                         override_reason="travelling on the 5th; one day early agreed", override_by=DOCTOR)
    override = session.check_in_override
    assert (override.overridden_by, override.overridden_at) == (DOCTOR, at(9, 30, day=4))
    assert override.reason == "travelling on the 5th; one day early agreed"
    assert override.rules[0].startswith("before the infusion's scheduled window")
    assert s.Session.from_dict(session.to_dict()) == session  # stored and read back


def test_an_override_needs_the_prescriber_named():
    with pytest.raises(DocumentationInputError) as caught:
        s.check_in(_session(2), ORDER, NURSE, at(9, 30, day=4), SETTINGS, override_reason="agreed")
    assert caught.value.field == "override.overridden_by"


def test_an_override_is_recorded_only_when_a_rule_was_set_aside():
    session = s.check_in(_session(1), ORDER, NURSE, at(9, 0), SETTINGS, override_reason="not needed",
                         override_by=DOCTOR)
    assert session.check_in_override is None


def test_the_note_states_the_override():
    session = s.check_in(_session(2), ORDER, NURSE, at(9, 30, day=4), SETTINGS,
                         override_reason="one day early agreed", override_by=DOCTOR)
    text = generate_note(session, ORDER)
    assert f"Check-in overridden by {DOCTOR}" in text and "one day early agreed" in text


def test_the_previous_infusion_is_the_latest_start_not_after_the_check_in():
    assert previous_infusion([None, at(9, 0, day=1), at(9, 0, day=3), at(9, 0, day=9)], at(9, 0, day=5)) == \
        at(9, 0, day=3)
    assert previous_infusion([None], at(9, 0)) is None


@pytest.mark.parametrize("hours", [0, 49])
def test_minimum_interval_setting_outside_1_to_48_hours_is_refused(hours):
    with pytest.raises(ValueError, match="min_hours_between_infusions"):
        replace(SessionSettings(), min_hours_between_infusions=hours).validate()
