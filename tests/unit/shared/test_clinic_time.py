"""Clinic time (issue 13, defect 22): the clinic's zone is required outside local runs, one 24-hour format for
every page and the note, typed wall-clock times read in the clinic's zone and stored with their offset."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.clinic_time import (
    ClinicTimeError, ClinicTimeSettings, clinic_today, clinic_zone_context, current_clinic_zone, format_clinic_time,
    input_value, load_clinic_time, parse_clinic_time,
)
from shared.config import SettingsError
from shared.records import JsonRecord, from_json, to_json
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.events.kafka_clients import KafkaSettings

CHICAGO = ZoneInfo("America/Chicago")
NOTE_MOMENT = datetime(2026, 12, 7, 11, 43, tzinfo=timezone.utc)  # "2026-12-07T11:43+00:00" in the old note


def test_one_24_hour_format_with_the_zone_and_its_offset():
    assert format_clinic_time(NOTE_MOMENT, CHICAGO) == "2026-12-07 05:43 CST (UTC\u221206:00)"
    afternoon = datetime(2026, 12, 7, 23, 5, tzinfo=timezone.utc)
    assert format_clinic_time(afternoon, CHICAGO) == "2026-12-07 17:05 CST (UTC\u221206:00)"  # not 5:05 PM
    assert format_clinic_time(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc), CHICAGO) == \
        "2026-07-01 07:00 CDT (UTC\u221205:00)"
    assert format_clinic_time(NOTE_MOMENT, ZoneInfo("Asia/Kolkata")) == "2026-12-07 17:13 IST (UTC+05:30)"
    assert format_clinic_time(NOTE_MOMENT, ZoneInfo("Europe/Istanbul")) == "2026-12-07 14:43 (UTC+03:00)"
    assert format_clinic_time(NOTE_MOMENT, CHICAGO, with_date=False, with_zone=False) == "05:43"
    assert format_clinic_time(None, CHICAGO) == "—"
    assert input_value(NOTE_MOMENT, CHICAGO) == "2026-12-07 05:43"
    with pytest.raises(ValueError):
        format_clinic_time(datetime(2026, 12, 7, 11, 43), CHICAGO)  # no offset: which instant?


def test_the_clinic_zone_is_required_outside_local_runs():
    with pytest.raises(SettingsError, match="clinic_timezone is required: set KETALINK_CLINIC_TIMEZONE"):
        load_clinic_time({})
    assert load_clinic_time({"KETALINK_LOCAL_RUN": "true"}).zone == ZoneInfo("UTC")
    assert load_clinic_time({"KETALINK_CLINIC_TIMEZONE": "America/Chicago"}).zone == CHICAGO
    with pytest.raises(SettingsError, match="not an IANA time zone name"):
        load_clinic_time({"KETALINK_CLINIC_TIMEZONE": "CST"})
    with pytest.raises(SettingsError, match="not an IANA time zone name"):
        load_clinic_time({"KETALINK_CLINIC_TIMEZONE": "Mars/Olympus_Mons", "KETALINK_LOCAL_RUN": "true"})


def test_a_second_zone_per_service_is_refused_at_start():
    for retired in ("ORDERS_CLINIC_TIMEZONE", "DOCUMENTATION_CLINIC_TIMEZONE"):
        with pytest.raises(SettingsError, match=f"{retired}: the clinic's zone is one setting"):
            load_clinic_time({"KETALINK_CLINIC_TIMEZONE": "America/Chicago", retired: "UTC"})


def test_a_service_does_not_start_without_the_clinic_zone(monkeypatch, tmp_path):
    monkeypatch.delenv("KETALINK_CLINIC_TIMEZONE", raising=False)
    monkeypatch.delenv("KETALINK_LOCAL_RUN", raising=False)
    with pytest.raises(SettingsError, match="KETALINK_CLINIC_TIMEZONE"):  # from_environment: the process exits
        ServiceRuntime("intake", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.db'}"), KafkaSettings())
    monkeypatch.setenv("KETALINK_CLINIC_TIMEZONE", "America/Chicago")
    runtime = ServiceRuntime(
        "intake", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.db'}"), KafkaSettings())
    try:
        assert runtime.clinic_zone == CHICAGO == current_clinic_zone()
    finally:
        runtime.engine.dispose()
        ServiceRuntime("intake", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.db'}"), KafkaSettings(),
                       ClinicTimeSettings("UTC")).engine.dispose()  # the tests' zone again for the next test


@dataclass(frozen=True)
class Reading(JsonRecord):
    measured_at: datetime


def test_a_wall_clock_time_typed_in_chicago_is_stored_with_its_offset():
    typed = parse_clinic_time("2026-12-07 05:43", CHICAGO)
    assert typed == NOTE_MOMENT  # the instant the nurse meant, not 05:43 UTC (6 hours off)
    stored = to_json(Reading(typed))
    assert stored == {"measured_at": "2026-12-07T05:43:00-06:00"}
    assert from_json(Reading, stored).measured_at == NOTE_MOMENT
    assert parse_clinic_time("2026-12-07T05:43", CHICAGO) == NOTE_MOMENT  # the form's older "T" spelling
    assert parse_clinic_time("2026-12-07 11:43 Z", CHICAGO) == NOTE_MOMENT  # an explicit offset is kept


@pytest.mark.parametrize("typed, why", [
    ("2026-12-07 5:43 PM", "24-hour"), ("12/07/2026 17:43", "24-hour"), ("2026-12-07", "24-hour"),
    ("2026-02-30 10:00", "not a real date"), ("2026-12-07 24:30", "not a real date"),
    ("2026-03-08 02:30", "does not exist in America/Chicago"),  # spring forward
    ("2026-11-01 01:30", "happens twice in America/Chicago"),  # fall back: which one?
])
def test_a_time_that_is_not_one_clinic_instant_is_refused_with_the_reason(typed, why):
    with pytest.raises(ClinicTimeError, match=why):
        parse_clinic_time(typed, CHICAGO)


def test_a_repeated_hour_is_accepted_with_the_offset_it_names():
    first = parse_clinic_time("2026-11-01 01:30 -05:00", CHICAGO)
    second = parse_clinic_time("2026-11-01 01:30 -06:00", CHICAGO)
    assert (second - first).total_seconds() == 3600


def test_the_process_zone_can_be_overridden_for_a_block():
    before = current_clinic_zone()
    with clinic_zone_context(CHICAGO):
        assert current_clinic_zone() == CHICAGO
    assert current_clinic_zone() == before


@pytest.mark.parametrize("typed", [
    "2026-12-07 05:43 +24:00",  # fromisoformat's own ValueError: was a 500 on the pages
    "2026-12-07 05:43 -23:59", "2026-12-07 05:43 +14:30", "2026-12-07 05:43 +05:75",  # no zone uses these
    "9999-12-31 23:59",  # in Chicago this is after the last instant a datetime holds: OverflowError, a 500
])
def test_an_impossible_offset_or_an_instant_outside_the_calendar_is_a_clinic_time_error_not_a_crash(typed):
    with pytest.raises(ClinicTimeError):
        parse_clinic_time(typed, CHICAGO)


def test_the_real_extreme_offsets_are_kept_as_typed():
    assert parse_clinic_time("2026-12-07 05:43 +14:00", CHICAGO).utcoffset().total_seconds() == 14 * 3600
    assert parse_clinic_time("2026-12-07 05:43 -12:00", CHICAGO).utcoffset().total_seconds() == -12 * 3600


def test_the_clinic_day_is_counted_in_the_clinic_zone_not_utc():
    """03:00 UTC on 8 December is still the evening of the 7th in Chicago: a role or a period starting on the 8th
    does not count there yet (shared/roles.py reads a PractitionerRole's period on this day)."""
    evening_in_chicago = datetime(2026, 12, 8, 3, 0, tzinfo=timezone.utc)
    with clinic_zone_context(ZoneInfo("America/Chicago")):
        assert clinic_today(evening_in_chicago) == date(2026, 12, 7)
    with clinic_zone_context(ZoneInfo("Asia/Tokyo")):
        assert clinic_today(datetime(2026, 12, 7, 16, 0, tzinfo=timezone.utc)) == date(2026, 12, 8)
