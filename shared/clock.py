"""The one clock of every service: when a clinical act happened is the time the clinician gives (charting after
the fact is normal at the chair) or now, but never in the future beyond a small allowance for clocks that drift
between the tablet and the server. The allowance is a setting of each service (documented default 120 s)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from shared.errors import FieldInputError


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (the zone every stored time is kept in)."""
    return datetime.now(timezone.utc)


class ClinicalClock:
    """Now (UTC, from ``now``) and the check of a given clinical time; a refusal raises ``error`` naming the
    field, so the web layer answers 400."""

    def __init__(self, future_tolerance: timedelta, now: Callable[[], datetime] = utcnow,
                 error: type[FieldInputError] = FieldInputError):
        self._future_tolerance = future_tolerance
        self._now = now
        self._error = error

    def now(self) -> datetime:
        return self._now()

    @property
    def future_tolerance(self) -> timedelta:
        """How far ahead of the server's clock a clinical time may be (tablet and device clocks drift)."""
        return self._future_tolerance

    def resolve(self, given: datetime | None, field: str = "at") -> datetime:
        """``given`` checked, or now when the client did not say."""
        return self._now() if given is None else self.check(given, field)

    def check(self, moment: datetime, field: str) -> datetime:
        """``moment`` unless it is naive or lies in the future beyond the tolerance: then an error naming
        ``field``."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self._error(field, "the date-time must carry a timezone")
        latest_allowed = self._now() + self._future_tolerance
        if moment > latest_allowed:
            seconds = int(self._future_tolerance.total_seconds())
            raise self._error(field, f"{moment.isoformat()} is in the future (more than {seconds} s ahead)")
        return moment
