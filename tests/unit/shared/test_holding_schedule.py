"""The held records' schedule: growing delays up to the cap, parked after the attempt or age limit, settings checked
at start-up."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.config import SettingsError, load_settings
from shared.events.holding import HoldingSettings, key_text, next_attempt_at, retry_delay_s

SETTINGS = HoldingSettings(inline_attempts=3, initial_delay_s=5, factor=2, max_delay_s=300, max_attempts=15,
                           max_age_s=86400)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def test_the_delay_grows_by_the_factor_from_the_first_held_attempt_and_stops_at_the_cap():
    delays = [retry_delay_s(SETTINGS, attempts) for attempts in range(3, 13)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300, 300]


def test_a_huge_attempt_count_does_not_overflow_the_delay():
    assert retry_delay_s(HoldingSettings(factor=10.0, max_delay_s=1e300), 10 ** 6) == 1e300


def test_the_next_attempt_is_now_plus_the_delay_until_the_attempt_limit_parks_it():
    assert next_attempt_at(SETTINGS, 3, NOW, NOW) == NOW + timedelta(seconds=5)
    assert next_attempt_at(SETTINGS, 14, NOW, NOW) == NOW + timedelta(seconds=300)
    assert next_attempt_at(SETTINGS, 15, NOW, NOW) is None


def test_a_record_held_longer_than_the_age_limit_is_parked_at_its_next_failure():
    assert next_attempt_at(SETTINGS, 4, NOW - timedelta(hours=23, minutes=59), NOW) is not None
    assert next_attempt_at(SETTINGS, 4, NOW - timedelta(hours=24), NOW) is None
    naive_utc = (NOW - timedelta(hours=25)).replace(tzinfo=None)  # as SQLite gives it back
    assert next_attempt_at(SETTINGS, 4, naive_utc, NOW) is None


def test_the_defaults_park_a_record_after_about_35_minutes_of_retries():
    defaults = HoldingSettings()
    total = sum(retry_delay_s(defaults, attempts) for attempts in range(defaults.inline_attempts,
                                                                        defaults.max_attempts))
    assert 30 * 60 <= total <= 40 * 60


def test_settings_from_the_environment_and_refused_when_they_make_no_sense():
    settings = load_settings(HoldingSettings, "KETALINK_HELD_", {"KETALINK_HELD_INLINE_ATTEMPTS": "2",
                                                                 "KETALINK_HELD_MAX_DELAY_S": "60"})
    assert (settings.inline_attempts, settings.max_delay_s) == (2, 60)
    for variable, value in (("INLINE_ATTEMPTS", "0"), ("MAX_ATTEMPTS", "2"), ("INITIAL_DELAY_S", "nan"),
                            ("FACTOR", "0.5"), ("MAX_DELAY_S", "1"), ("POLL_INTERVAL_S", "0"), ("MAX_AGE_S", "inf")):
        with pytest.raises(SettingsError, match="HoldingSettings"):
            load_settings(HoldingSettings, "KETALINK_HELD_", {f"KETALINK_HELD_{variable}": value})


def test_a_key_is_kept_as_its_text_and_a_long_or_binary_one_by_its_digest():
    assert key_text(b"patient-1") == "patient-1"
    assert key_text(None) is None
    assert key_text(b"\xff\xfe").startswith("sha256:")
    assert key_text(b"x" * 201) == key_text(b"x" * 201) != key_text(b"x" * 202)
    assert len(key_text(b"x" * 201)) <= 200
