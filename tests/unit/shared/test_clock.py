"""When a clinical act happened: the time given (charting after the fact is fine) or now, never in the future beyond
the tolerance for a drifting tablet clock."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import ClinicalClock
from shared.errors import FieldInputError


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=timezone.utc)


NOW = at(9, 40)
CLOCK = ClinicalClock(timedelta(seconds=120), now=lambda: NOW)


def test_now_is_the_injected_clock():
    assert CLOCK.now() == NOW


def test_no_time_given_means_now():
    assert CLOCK.resolve(None) == NOW


def test_a_time_in_the_past_or_within_the_tolerance_is_kept():
    assert CLOCK.resolve(at(8, 55)) == at(8, 55)
    assert CLOCK.resolve(NOW + timedelta(seconds=120)) == NOW + timedelta(seconds=120)


def test_a_time_beyond_the_tolerance_is_refused_naming_the_field():
    with pytest.raises(FieldInputError) as error:
        CLOCK.resolve(NOW + timedelta(seconds=121), "measured_at")
    assert error.value.field == "measured_at"
    assert "in the future (more than 120 s ahead)" in error.value.message
    with pytest.raises(FieldInputError) as error:
        CLOCK.check(at(10), "at")
    assert error.value.field == "at"


def test_without_tolerance_any_future_time_is_refused():
    strict = ClinicalClock(timedelta(0), now=lambda: NOW)
    assert strict.check(NOW, "at") == NOW
    with pytest.raises(FieldInputError):
        strict.check(NOW + timedelta(seconds=1), "at")


def test_a_naive_time_is_refused_naming_the_field():
    with pytest.raises(FieldInputError) as refused:
        CLOCK.check(datetime(2026, 3, 2, 9, 0), "given_at")
    assert refused.value.field == "given_at" and "timezone" in refused.value.message


def test_the_refusal_is_the_services_own_input_error():
    class ServiceInputError(FieldInputError):
        pass

    clock = ClinicalClock(timedelta(0), now=lambda: NOW, error=ServiceInputError)
    with pytest.raises(ServiceInputError):
        clock.check(at(10), "at")
