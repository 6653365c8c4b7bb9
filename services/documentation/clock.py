"""When a clinical act happened: the time the clinician gives (charting after the fact is normal at the chair) or
now, but never in the future beyond a small allowance for clocks that drift between the tablet and the server."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from services.documentation.domain.errors import DocumentationInputError
from shared.db import utcnow


class ClinicalClock:
    def __init__(self, future_tolerance: timedelta, now: Callable[[], datetime] = utcnow):
        self._future_tolerance = future_tolerance
        self._now = now

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
        """``moment`` unless it lies in the future (beyond the tolerance): a 400 naming ``field``."""
        latest_allowed = self._now() + self._future_tolerance
        if moment > latest_allowed:
            seconds = int(self._future_tolerance.total_seconds())
            raise DocumentationInputError(field, f"{moment.isoformat()} is in the future (more than {seconds} s ahead)")
        return moment
