"""Unit tests read and write clinic times in UTC unless they choose a zone themselves (``clinic_zone_context`` or a
``ServiceRuntime`` they build). The process's zone is set by any service built in this process, and the integration
tests that run before the unit tests in one session build theirs in the tests' zone (``tests/support/clinic_zone.py``,
about midday when the session starts): without this, a unit test's expected text would depend on what ran before it
and on the hour."""
from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from shared.clinic_time import set_process_clinic_zone


@pytest.fixture(autouse=True)
def _clinic_zone_is_utc_unless_the_test_sets_one() -> Iterator[None]:
    set_process_clinic_zone(ZoneInfo("UTC"))
    yield
