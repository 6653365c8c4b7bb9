import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.orders.domain.errors import OrdersInputError
from services.orders.domain.series import (
    InfusionStatus, ScheduledInfusion, SeriesPhase, SeriesStatus, TreatmentSeries, induction_windows,
    plan_induction, plan_maintenance, record_infusion, reevaluation_due, with_status,
)
from tests.unit.orders.builders import NOW, PATIENT, START, settings

D = date


def active_induction(**kwargs) -> TreatmentSeries:
    return with_status(plan_induction(PATIENT, START, settings(**kwargs), series_id="series-1", now=NOW),
                       SeriesStatus.ACTIVE)


def windows(series):
    return [(i.window_start, i.window_end) for i in series.infusions]


def test_default_induction_is_six_infusions_twice_a_week_over_three_weeks():
    series = plan_induction(PATIENT, START, settings(), series_id="series-1", now=NOW)
    assert (series.series_id, series.patient_id, series.phase, series.status) == (
        "series-1", PATIENT, SeriesPhase.INDUCTION, SeriesStatus.DRAFT)
    assert series.infusion_count == 6 and series.created_at == NOW
    assert windows(series) == [
        (D(2026, 11, 23), D(2026, 11, 25)), (D(2026, 11, 26), D(2026, 11, 29)),
        (D(2026, 11, 30), D(2026, 12, 2)), (D(2026, 12, 3), D(2026, 12, 6)),
        (D(2026, 12, 7), D(2026, 12, 9)), (D(2026, 12, 10), D(2026, 12, 13)),
    ]
    assert all(i.status is InfusionStatus.SCHEDULED for i in series.infusions)
    assert [i.number for i in series.infusions] == [1, 2, 3, 4, 5, 6]


def test_three_a_week_induction_fits_in_two_weeks():
    series = plan_induction(PATIENT, START, settings(), infusions_per_week=3, now=NOW)
    assert windows(series) == [
        (D(2026, 11, 23), D(2026, 11, 24)), (D(2026, 11, 25), D(2026, 11, 26)),
        (D(2026, 11, 27), D(2026, 11, 29)), (D(2026, 11, 30), D(2026, 12, 1)),
        (D(2026, 12, 2), D(2026, 12, 3)), (D(2026, 12, 4), D(2026, 12, 6)),
    ]


def test_windows_are_contiguous_and_never_overlap():
    for per_week in (1, 2, 3, 4, 7):
        spans = induction_windows(START, 8, per_week)
        for (_, end), (next_start, _) in zip(spans, spans[1:]):
            assert next_start == end + timedelta(days=1)
        assert all(start <= end for start, end in spans)


def test_a_generated_series_id_is_unique():
    first = plan_induction(PATIENT, START, settings(), now=NOW)
    second = plan_induction(PATIENT, START, settings(), now=NOW)
    assert first.series_id != second.series_id


def test_a_per_patient_count_within_the_clinic_limits():
    assert plan_induction(PATIENT, START, settings(), infusion_count=4, now=NOW).infusion_count == 4
    assert plan_induction(PATIENT, START, settings(), infusions_per_week=3, infusion_count=8,
                          now=NOW).infusion_count == 8  # 18 days


@pytest.mark.parametrize("kwargs, field", [
    ({"start_date": NOW.date() - timedelta(days=1)}, "start_date"),
    ({"infusions_per_week": 1}, "infusions_per_week"),
    ({"infusions_per_week": 4}, "infusions_per_week"),
    ({"infusion_count": 0}, "infusion_count"),
    ({"infusion_count": 9}, "infusion_count"),
    ({"infusion_count": 8}, "infusion_count"),  # 8 at 2/week takes 28 days, more than 21
])
def test_an_induction_outside_the_protocol_is_refused(kwargs, field):
    kwargs = {"start_date": START, **kwargs}
    with pytest.raises(OrdersInputError) as caught:
        plan_induction(PATIENT, kwargs.pop("start_date"), settings(), now=NOW, **kwargs)
    assert caught.value.field == field


def test_an_induction_may_start_today():
    assert plan_induction(PATIENT, NOW.date(), settings(), now=NOW).infusions[0].window_start == NOW.date()


def test_today_is_the_clinics_day_not_utcs():
    # 02:00 UTC on 21 Nov is still 20 Nov, 18:00, in Los Angeles: a series starting on the 20th is not in the past.
    evening = NOW.replace(day=21, hour=2)
    protocol = settings(clinic_timezone="America/Los_Angeles")
    assert plan_induction(PATIENT, D(2026, 11, 20), protocol, now=evening).infusion_count == 6
    with pytest.raises(OrdersInputError, match="past"):
        plan_induction(PATIENT, D(2026, 11, 20), settings(), now=evening)


def test_maintenance_follows_a_completed_series_at_the_patients_interval():
    induction = with_status(active_induction(), SeriesStatus.COMPLETED)
    series = plan_maintenance(induction, D(2026, 12, 28), 28, 3, settings(), series_id="series-2", now=NOW)
    assert (series.phase, series.status, series.replaces_series_id) == (
        SeriesPhase.MAINTENANCE, SeriesStatus.DRAFT, "series-1")
    assert windows(series) == [(D(2026, 12, 28), D(2027, 1, 24)), (D(2027, 1, 25), D(2027, 2, 21)),
                               (D(2027, 2, 22), D(2027, 3, 21))]


def test_maintenance_is_refused_before_the_induction_is_completed_or_outside_the_interval_range():
    with pytest.raises(OrdersInputError) as caught:
        plan_maintenance(active_induction(), D(2026, 12, 28), 5, 0, settings(), now=NOW)
    assert [v.field for v in caught.value.violations] == ["previous.status", "interval_days", "infusion_count"]


def test_recording_infusions_in_order():
    series = record_infusion(active_induction(), 1, InfusionStatus.COMPLETED)
    series = record_infusion(series, 2, InfusionStatus.CANCELLED)  # e.g. BP too high that day
    series = record_infusion(series, 3, InfusionStatus.COMPLETED)
    assert [i.status.value for i in series.infusions[:4]] == ["completed", "cancelled", "completed", "scheduled"]
    assert series.completed_count == 2
    assert series.next_scheduled.number == 4


@pytest.mark.parametrize("number, outcome, message", [
    (3, InfusionStatus.COMPLETED, "infusion 1 comes before infusion 3"),
    (7, InfusionStatus.COMPLETED, "infusions 1-6"),
    (0, InfusionStatus.COMPLETED, "infusions 1-6"),
    (1, InfusionStatus.SCHEDULED, "completed or cancelled"),
])
def test_recording_an_infusion_out_of_order_or_unknown_is_refused(number, outcome, message):
    with pytest.raises(OrdersInputError, match=message):
        record_infusion(active_induction(), number, outcome)


def test_an_infusion_cannot_be_recorded_twice():
    series = record_infusion(active_induction(), 1, InfusionStatus.COMPLETED)
    with pytest.raises(OrdersInputError, match="already completed"):
        record_infusion(series, 1, InfusionStatus.CANCELLED)


@pytest.mark.parametrize("status", [SeriesStatus.DRAFT, SeriesStatus.ON_HOLD, SeriesStatus.REVOKED])
def test_infusions_are_recorded_only_in_an_active_series(status):
    with pytest.raises(OrdersInputError, match="active series"):
        record_infusion(with_status(active_induction(), status), 1, InfusionStatus.COMPLETED)


def test_ending_a_series_cancels_what_is_still_scheduled_and_keeps_what_was_given():
    series = record_infusion(active_induction(), 1, InfusionStatus.COMPLETED)
    revoked = with_status(series, SeriesStatus.REVOKED)
    assert revoked.infusions[0].status is InfusionStatus.COMPLETED
    assert all(i.status is InfusionStatus.CANCELLED for i in revoked.infusions[1:])
    assert with_status(series, SeriesStatus.ON_HOLD).infusions[1].status is InfusionStatus.SCHEDULED


def test_reevaluation_is_due_seven_days_after_the_last_planned_induction_infusion():
    assert reevaluation_due(active_induction(), settings()) == D(2026, 12, 20)  # 13 Dec + 7


def test_reevaluation_counts_from_the_day_the_last_infusion_was_given_when_known():
    assert reevaluation_due(active_induction(), settings(), last_infusion_on=D(2026, 12, 11)) == D(2026, 12, 18)


def test_reevaluation_days_is_a_clinic_setting():
    assert reevaluation_due(active_induction(), settings(reevaluation_days_after_induction=14)) == D(2026, 12, 27)


def test_reevaluation_skips_a_cancelled_last_infusion():
    series = active_induction()
    cancelled_last = replace(series, infusions=series.infusions[:5] + (
        replace(series.infusions[5], status=InfusionStatus.CANCELLED),))
    assert reevaluation_due(cancelled_last, settings()) == D(2026, 12, 16)  # infusion 5 ends 9 Dec


def test_no_reevaluation_for_maintenance_or_a_fully_cancelled_induction():
    revoked = with_status(active_induction(), SeriesStatus.REVOKED)
    assert reevaluation_due(revoked, settings()) is None
    maintenance = plan_maintenance(with_status(active_induction(), SeriesStatus.COMPLETED), START, 28, 2,
                                   settings(), now=NOW)
    assert reevaluation_due(maintenance, settings()) is None


def test_a_series_needs_numbered_infusions():
    with pytest.raises(OrdersInputError, match="numbered"):
        TreatmentSeries("s", PATIENT, SeriesPhase.INDUCTION, SeriesStatus.DRAFT,
                        (ScheduledInfusion(2, START, START),), NOW)
    with pytest.raises(OrdersInputError, match="at least one"):
        TreatmentSeries("s", PATIENT, SeriesPhase.INDUCTION, SeriesStatus.DRAFT, (), NOW)


def test_series_round_trips_through_a_json_document():
    series = record_infusion(active_induction(), 1, InfusionStatus.COMPLETED)
    stored = json.loads(json.dumps(series.to_dict()))
    assert stored["infusions"][0] == {"number": 1, "window_start": "2026-11-23", "window_end": "2026-11-25",
                                      "status": "completed", "makeup_for": None}
    assert TreatmentSeries.from_dict(stored) == series
    for infusion in stored["infusions"]:  # a document stored before make-ups existed still reads
        del infusion["makeup_for"]
    assert TreatmentSeries.from_dict(stored) == series


@pytest.mark.parametrize("days_ahead", [91, 365 * 36, None])
def test_a_series_starting_beyond_the_clinics_horizon_is_refused_not_planned(days_ahead):
    """The clinic's horizon (``series_start_max_days_ahead``, default 90) bounds the high side as today bounds the
    low: a mistyped year is a 400 naming start_date, and so is the end of the calendar (9999-12-31 was a 500)."""
    start = D(9999, 12, 31) if days_ahead is None else NOW.date() + timedelta(days=days_ahead)
    with pytest.raises(OrdersInputError, match="90 days ahead") as caught:
        plan_induction(PATIENT, start, settings(), now=NOW)
    assert caught.value.field == "start_date"
    assert plan_induction(PATIENT, NOW.date() + timedelta(days=90), settings(), now=NOW).infusion_count == 6
    wider = settings(series_start_max_days_ahead=120)
    assert plan_induction(PATIENT, NOW.date() + timedelta(days=91), wider, now=NOW).infusion_count == 6


def test_the_start_horizon_must_cover_a_maintenance_interval():
    with pytest.raises(ValueError, match="series_start_max_days_ahead"):
        settings(series_start_max_days_ahead=30)
