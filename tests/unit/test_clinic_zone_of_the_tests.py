"""The tests' clinic zone (tests/support/clinic_zone.py) keeps the journeys independent of the hour CI runs at,
without touching the rule: an order signed to start "today" (the machine's date, as the tests pass it) and its
first session checked in "N hours ago" are inside the infusion's window at every hour of the day, including
00:30, where in a fixed zone check-in is rightly refused before the window opens. Run with the real orders and
documentation code: the series planned by orders, its CarePlan as orders sends it, read by documentation, and
documentation's check-in rule."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.documentation.domain.errors import TransitionNotAllowed
from services.documentation.domain.session import SessionStatus, check_in, create_session
from shared.people import Person
from services.documentation.translators.care_plan_in import series_schedule_from_care_plan
from services.orders.domain.series import plan_induction
from services.orders.domain.settings import ProtocolSettings
from services.orders.translators.care_plan_out import care_plan_from_series
from tests.support.clinic_zone import midday_zone
from tests.unit.documentation.builders import make_order

DAY = date(2026, 12, 7)
EVERY_HALF_HOUR = [datetime(2026, 12, 7, 0, 30, tzinfo=timezone.utc) + timedelta(hours=h) for h in range(24)]
LONGEST_AGO_H = 3  # the journeys check in 3 h ago and chart about 95 minutes from there


def _first_session_checked_in(zone: str, now: datetime, start_date: date, hours_ago: float):
    """Orders plans the induction from ``start_date`` at ``now`` in ``zone`` and sends its CarePlan; documentation
    reads the windows and checks session 1 in ``hours_ago`` before ``now``."""
    series = plan_induction("patient-1", start_date, ProtocolSettings(clinic_timezone=zone), now=now)
    schedule = series_schedule_from_care_plan(care_plan_from_series(series, zone) | {"subject": {
        "reference": "Patient/patient-1"}})
    order = make_order(patient_id="patient-1", series_id=schedule.series_id, occurrences=schedule.occurrences)
    session = create_session(order, 1)
    nurse = Person("Practitioner/rn-dana-hill", "RN Dana Hill")
    return check_in(session, order, nurse, now - timedelta(hours=hours_ago))


@pytest.mark.parametrize("now", EVERY_HALF_HOUR, ids=[f"{n:%H%M}Z" for n in EVERY_HALF_HOUR])
def test_a_session_charted_hours_ago_on_todays_order_is_inside_its_window_at_any_hour(now: datetime):
    zone = midday_zone(now, today=now.date())
    clinic_now = now.astimezone(ZoneInfo(zone))
    assert clinic_now.date() == now.date() and abs(clinic_now.hour + clinic_now.minute / 60 - 12) <= 0.5
    checked_in = _first_session_checked_in(zone, now, now.date(), LONGEST_AGO_H)
    assert checked_in.status is SessionStatus.CHECKED_IN and checked_in.check_in_override is None


def test_at_half_past_midnight_in_a_fixed_zone_the_rule_refuses_the_same_check_in():
    """What the flake was: the rule is right to refuse it, so the tests change zone, not the rule."""
    with pytest.raises(TransitionNotAllowed, match="before the infusion's scheduled window"):
        _first_session_checked_in("UTC", datetime(2026, 12, 7, 0, 30, tzinfo=timezone.utc), DAY, LONGEST_AGO_H)


def test_the_clinic_date_is_the_machines_date_when_the_machine_is_not_on_utc():
    """A CI machine in Chicago at 20:00 (02:00 UTC the next day): ``date.today()`` is still the clinic's today."""
    now = datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc)
    zone = midday_zone(now, today=DAY)
    assert now.astimezone(ZoneInfo(zone)).date() == DAY
    assert _first_session_checked_in(zone, now, DAY, LONGEST_AGO_H).status is SessionStatus.CHECKED_IN


def test_the_zone_is_an_iana_name_with_the_posix_sign():
    assert midday_zone(datetime(2026, 12, 7, 0, 30, tzinfo=timezone.utc), today=DAY) == "Etc/GMT-12"  # UTC+12
    assert midday_zone(datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc), today=DAY) == "UTC"
    assert midday_zone(datetime(2026, 12, 7, 20, 0, tzinfo=timezone.utc), today=DAY) == "Etc/GMT+8"  # UTC−08:00
