"""The clinic time zone the tests (and the bench) run in: one in which it is about midday now, so that no test
depends on the hour at which CI runs it.

The rules read clinical times against the clinic's day: an infusion's window opens at the clinic's midnight on the
order's start day, and an order cannot start before the clinic's today. The tests sign an order that starts today
and chart its first session "N hours ago" (a whole session with explicit past times, nothing waited for), so in a
fixed zone check-in is rightly refused between 00:00 and N:00 clinic time ("before the infusion's scheduled
window"). In a zone where it is now about 12:00 on the machine's date, "N hours ago" (N up to about 10) and the
rest of the run fall on the same clinic day, and ``date.today()``, what the tests pass as a start date, is the
clinic's date, at any hour. The rules are unchanged; the tests stop living at the clinic's midnight.

The zone is ``Etc/GMT±h`` (whole hours, no daylight saving; note the POSIX sign: ``Etc/GMT-12`` is UTC+12) or UTC.
``KETALINK_CLINIC_TIMEZONE`` set in the environment wins (e.g. to run the tests as a Chicago clinic), and then the
tests depend on the time of day again."""
from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

VARIABLE = "KETALINK_CLINIC_TIMEZONE"
_MIDDAY = time(12)
_EARLIEST_OFFSET_H, _LATEST_OFFSET_H = -12, 14  # the range of the Etc/GMT zones


def midday_zone(now: datetime | None = None, today: date | None = None) -> str:
    """The zone in which ``now`` (default: the clock) is within half an hour of 12:00 on ``today`` (default: the
    machine's date, what ``date.today()`` answers)."""
    now = now or datetime.now(timezone.utc)
    today = today or now.astimezone().date()
    offset = (datetime.combine(today, _MIDDAY, timezone.utc) - now) / timedelta(hours=1)
    hours = min(_LATEST_OFFSET_H, max(_EARLIEST_OFFSET_H, round(offset)))
    if hours == 0:
        return "UTC"
    return f"Etc/GMT{-hours:+d}"  # POSIX sign: Etc/GMT-12 is 12 hours ahead of UTC


def clinic_zone_of_the_tests() -> str:
    """``KETALINK_CLINIC_TIMEZONE`` for this process and every service, broker or bench it starts: the one in the
    environment, else the midday zone, put in the environment so that every later reader agrees."""
    return os.environ.setdefault(VARIABLE, midday_zone())



def clinic_today() -> date:
    """The clinic's date now, in the tests' clinic zone: what a test passes as an order's start date or asks a
    clinic-day report for. Not ``date.today()``: the machine's date turns over at the machine's midnight, which a run
    started shortly before it crosses while the clinic's (midday) day has hours to go."""
    return datetime.now(ZoneInfo(clinic_zone_of_the_tests())).date()
