"""Clinic time: the one time zone every page, form and note of a clinic uses, and the one way a time is written.

A nurse types wall-clock time; the legal record must say which instant that was. So the clinic's zone is a
required setting outside local runs (a default of UTC put a Chicago clinic 6 hours off in the note: issue 13,
defect 22), a time typed into a form is 24-hour and read in that zone, a time is stored with its offset, and every
page and the note write it the same way: ``2026-12-07 05:43 CST (UTC−06:00)`` (24-hour, the zone's abbreviation
and the offset, so a reader in another zone or a later reviewer knows the instant).

Settings (environment prefix ``KETALINK_``, read once at start-up by ``ServiceRuntime.from_environment``; a missing
or unknown zone stops the service with the variable's name):

- ``clinic_timezone``: IANA name (``America/Chicago``). Required unless ``local_run`` is true. The local stack
  (``make run``) and the tests set it explicitly; the Kubernetes and compose manifests take it from the clinic's
  configuration.
- ``local_run`` (default false): a developer's machine; only then may ``clinic_timezone`` be left empty, and it is
  UTC. Never set it for a clinic.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.config import SettingsError, load_settings

MINUS = "\u2212"  # the typographic minus of "UTC−06:00": not confused with a hyphen in a date
INPUT_FORMAT = "%Y-%m-%d %H:%M"  # what a time field shows and takes: 24-hour, no AM/PM
INPUT_PATTERN = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?( ?(Z|[+\-]\d{2}:\d{2}))?"  # the HTML pattern hint
INPUT_PLACEHOLDER = "YYYY-MM-DD HH:MM"
_WALL_CLOCK = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)\s*(Z|[+\-]\d{2}:\d{2})?$")


@dataclass(frozen=True)
class ClinicTimeSettings:
    """``KETALINK_CLINIC_TIMEZONE`` and ``KETALINK_LOCAL_RUN``; see the module docstring."""

    clinic_timezone: str = ""
    local_run: bool = False

    def validate(self) -> None:
        if not self.clinic_timezone:
            if not self.local_run:
                raise ValueError("clinic_timezone is required: set KETALINK_CLINIC_TIMEZONE to the clinic's IANA "
                                 "time zone (e.g. America/Chicago); every time typed and every time in the note "
                                 "is read in it (KETALINK_LOCAL_RUN=true allows UTC on a developer's machine only)")
            return
        try:
            ZoneInfo(self.clinic_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"clinic_timezone {self.clinic_timezone!r} is not an IANA time zone name "
                             "(e.g. America/Chicago)") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone or "UTC")


#: Variables that once set a zone of their own per service: refused at start, so no service keeps a second zone.
RETIRED_VARIABLES = ("ORDERS_CLINIC_TIMEZONE", "DOCUMENTATION_CLINIC_TIMEZONE", "INTAKE_CLINIC_TIMEZONE")


def load_clinic_time(environ: Mapping[str, str] | None = None) -> ClinicTimeSettings:
    """The clinic-time settings from the environment; ``SettingsError`` names the variable."""
    environ = os.environ if environ is None else environ
    retired = [name for name in RETIRED_VARIABLES if environ.get(name)]
    if retired:
        raise SettingsError(f"{', '.join(retired)}: the clinic's zone is one setting for every service now; set "
                            "KETALINK_CLINIC_TIMEZONE instead and remove the old variable")
    return load_settings(ClinicTimeSettings, "KETALINK_", environ)


# -- the zone of this process ----------------------------------------------------------------------------------
# One process serves one clinic: ``ServiceRuntime`` sets its zone once at start, and code with no settings of its
# own at hand (the note's text, a page helper) asks ``current_clinic_zone()``. ``clinic_zone_context`` overrides it
# for one block (tests, a second clinic in one process).
_process_zone: ZoneInfo = ZoneInfo("UTC")
_zone_override: ContextVar[ZoneInfo | None] = ContextVar("clinic_zone_override", default=None)


def set_process_clinic_zone(zone: ZoneInfo) -> None:
    global _process_zone
    _process_zone = zone


def current_clinic_zone() -> ZoneInfo:
    return _zone_override.get() or _process_zone


def clinic_today(now: datetime | None = None) -> date:
    """The clinic's calendar day at ``now`` (default: this instant): in Chicago's evening the UTC date is already
    tomorrow, and a role, a window or a period that starts tomorrow must not count yet."""
    return (now or datetime.now(timezone.utc)).astimezone(current_clinic_zone()).date()


@contextmanager
def clinic_zone_context(zone: ZoneInfo) -> Iterator[ZoneInfo]:
    token = _zone_override.set(zone)
    try:
        yield zone
    finally:
        _zone_override.reset(token)


# -- writing a time ------------------------------------------------------------------------------------------------
def utc_offset_text(offset: timedelta | None) -> str:
    """``UTC−06:00``, ``UTC+05:30``, ``UTC+00:00``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else MINUS
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def format_clinic_time(moment: datetime | None, zone: tzinfo, *, missing: str = "—", with_date: bool = True,
                       with_zone: bool = True) -> str:
    """The one way Ketalink writes a time, on every page and in the note: ``2026-12-07 05:43 CST (UTC−06:00)``,
    24-hour, in the clinic's zone. ``with_date=False`` for a table of one day's times (``05:43``);
    ``with_zone=False`` where the page already says the zone once."""
    if moment is None:
        return missing
    if moment.tzinfo is None:
        raise ValueError("a time without an offset cannot be placed in the clinic's zone")
    local = moment.astimezone(zone)
    text = local.strftime(INPUT_FORMAT if with_date else "%H:%M")
    if with_zone:
        abbreviation = local.tzname() or ""
        offset = utc_offset_text(local.utcoffset())
        named = abbreviation[:1].isalpha()  # some zones have only numeric names ("+03"): the offset says it
        text += f" {abbreviation} ({offset})" if named else f" ({offset})"
    return text


def input_value(moment: datetime | None, zone: tzinfo) -> str:
    """A time as a 24-hour form field shows it, in the clinic's zone (``2026-12-07 05:43``); empty for none."""
    return moment.astimezone(zone).strftime(INPUT_FORMAT) if moment else ""


def zone_label(zone: tzinfo, at: datetime | None = None) -> str:
    """``America/Chicago, now CST (UTC−06:00)``: what the pages say once next to their time fields."""
    now = (at or datetime.now(timezone.utc)).astimezone(zone)
    name = getattr(zone, "key", None) or str(zone)
    return f"{name}, now {now.tzname()} ({utc_offset_text(now.utcoffset())})"


# -- reading a typed time ------------------------------------------------------------------------------------------
class ClinicTimeError(ValueError):
    """A typed time that is not a 24-hour clinic time, or not one instant in the clinic's zone."""


def parse_clinic_time(text: str, zone: ZoneInfo) -> datetime:
    """A 24-hour time typed at the clinic (``2026-12-07 05:43``, ``T`` allowed) as an aware time in the clinic's
    zone, which keeps its offset when stored (``2026-12-07T05:43:00-06:00``). An explicit offset (``-05:00``, ``Z``)
    is kept as typed. A wall-clock time that does not exist (clocks go forward) or happens twice (clocks go back)
    in the clinic's zone is refused with the reason, never guessed: the legal record must name one instant."""
    value = (text or "").strip()
    match = _WALL_CLOCK.match(value)
    if not match:
        raise ClinicTimeError(f"enter the date and a 24-hour time as {INPUT_PLACEHOLDER} (e.g. 2026-12-07 17:43), "
                              "not AM/PM")
    day, clock, offset = match.groups()
    try:
        naive = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        raise ClinicTimeError(f"{value!r} is not a real date and time") from None
    if offset:
        return _with_offset(day, clock, offset)
    earlier, later = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    try:
        round_trip = earlier.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise ClinicTimeError(f"{value!r} is not a real date and time") from None
    if round_trip != naive:
        raise ClinicTimeError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks went forward): "
                              "check the time")
    if earlier.utcoffset() != later.utcoffset():
        raise ClinicTimeError(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {zone.key} (the clocks went back): add the offset, "
            f"{naive:%Y-%m-%d %H:%M} {_iso_offset(earlier)} for the first or {_iso_offset(later)} for the second")
    return earlier


def _with_offset(day: str, clock: str, offset: str) -> datetime:
    """A typed time with its own offset, kept as typed; an offset no zone on Earth uses (beyond UTC-12:00 to
    UTC+14:00, or minutes past 59) or an instant outside the calendar is refused, never a 500."""
    if offset != "Z":
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if minutes > 59 or hours * 60 + minutes > (14 * 60 if offset[0] == "+" else 12 * 60):
            raise ClinicTimeError(f"the offset {offset} is not a real UTC offset (UTC-12:00 to UTC+14:00)")
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset == 'Z' else offset}")
        moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ClinicTimeError(f"{day} {clock} {offset} is not a real date and time") from None
    return moment


def _iso_offset(moment: datetime) -> str:
    return moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
