"""Issue 13 defects 6 and 7 at the series: a given infusion moves the next window on so infusions are never on
consecutive days (3 per week included), and an induction infusion that never began is made up at the end of the
series within the clinic's limits."""
from datetime import date, timedelta

import pytest

from services.orders.domain.series import (
    InfusionStatus, SeriesPhase, SeriesStatus, makeup_infusion, plan_induction, plan_maintenance, record_infusion,
    series_ended, with_status,
)
from tests.unit.orders.builders import NOW, PATIENT, START, settings

COMPLETED, CANCELLED = InfusionStatus.COMPLETED, InfusionStatus.CANCELLED


def _induction(per_week: int = 2, count: int = 6, **overrides):
    protocol = settings(**overrides)
    series = plan_induction(PATIENT, START, protocol, infusions_per_week=per_week, infusion_count=count,
                            series_id="series-1", now=NOW)
    return with_status(series, SeriesStatus.ACTIVE), protocol


def test_three_per_week_infusion_given_late_in_its_window_moves_the_next_window_off_the_next_day():
    series, protocol = _induction(per_week=3)
    assert (series.infusions[1].window_start - series.infusions[0].window_end).days == 1  # as planned: adjacent
    late = series.infusions[0].window_end
    marked = record_infusion(series, 1, COMPLETED, given_on=late, settings=protocol)
    assert marked.infusions[1].window_start == late + timedelta(days=2)
    assert marked.infusions[1].window_end >= marked.infusions[1].window_start


def test_infusion_given_early_leaves_the_next_window_as_planned():
    series, protocol = _induction(per_week=2)
    marked = record_infusion(series, 1, COMPLETED, given_on=START, settings=protocol)
    assert marked.infusions[1] == series.infusions[1]


def test_minimum_days_between_infusions_must_fit_the_fastest_induction():
    with pytest.raises(ValueError, match="min_days_between_infusions"):
        settings(min_days_between_infusions=3)  # 3 per week allowed: 3 × 3 days is more than a week
    with pytest.raises(ValueError, match="min_days_between_infusions"):
        settings(min_days_between_infusions=0)


def test_a_deferred_induction_infusion_is_made_up_at_the_end_of_the_series():
    series, protocol = _induction()
    marked = series
    for number in (1, 2):
        marked = record_infusion(marked, number, COMPLETED, settings=protocol)
    marked = record_infusion(marked, 3, CANCELLED, settings=protocol)
    assert marked.infusion_count == 7
    makeup = marked.infusions[6]
    assert (makeup.number, makeup.makeup_for, makeup.status) == (7, 3, InfusionStatus.SCHEDULED)
    assert makeup.window_start > series.infusions[5].window_end
    missed = series.infusions[2]
    assert makeup.window_end - makeup.window_start == missed.window_end - missed.window_start
    assert not series_ended(marked)


def test_make_ups_stop_at_the_clinics_count_and_the_series_then_ends_with_fewer_given():
    series, protocol = _induction(makeup_max_infusions=1)
    marked = record_infusion(series, 1, CANCELLED, settings=protocol)
    assert marked.infusion_count == 7
    marked = record_infusion(marked, 2, CANCELLED, settings=protocol)
    assert marked.infusion_count == 7  # no second make-up
    for number in range(3, 8):
        marked = record_infusion(marked, number, COMPLETED, settings=protocol)
    assert series_ended(marked) and marked.completed_count == 5


def test_no_make_up_beyond_the_clinics_extension_of_the_series():
    series, protocol = _induction(makeup_max_extension_days=2)  # the make-up window would end 4 days later
    assert makeup_infusion(series, 1, protocol) is None


def test_make_ups_can_be_switched_off():
    series, protocol = _induction(makeup_max_infusions=0)
    assert record_infusion(series, 1, CANCELLED, settings=protocol).infusion_count == 6


def test_a_maintenance_infusion_is_not_made_up():
    induction, protocol = _induction()
    completed = with_status(induction, SeriesStatus.COMPLETED)
    maintenance = with_status(plan_maintenance(completed, START + timedelta(days=30), 14, 3, protocol, now=NOW),
                              SeriesStatus.ACTIVE)
    assert maintenance.phase is SeriesPhase.MAINTENANCE
    assert record_infusion(maintenance, 1, CANCELLED, settings=protocol).infusion_count == 3


@pytest.mark.parametrize("name, value", [("makeup_max_infusions", 5), ("makeup_max_infusions", -1),
                                         ("makeup_max_extension_days", 29), ("makeup_max_extension_days", -1)])
def test_make_up_settings_outside_their_range_are_refused(name, value):
    with pytest.raises(ValueError, match=name):
        settings(**{name: value})


def test_without_settings_recording_is_as_before():
    series, _ = _induction()
    assert record_infusion(series, 1, CANCELLED).infusion_count == 6
    assert record_infusion(series, 1, COMPLETED, given_on=date(2026, 11, 25)).infusions[1] == series.infusions[1]
