"""Plausibility of what is charted (issue 13 defect 24): a vital sign outside the physiological range of a living
adult, or a clinical time far before the session it belongs to, is a typing or device error, not a finding. It is
refused (a ``DocumentationInputError`` naming the field, so a 400 over HTTP and a dead letter on Kafka) before
anything is stored or sent, instead of being charted, raising an alert that blocks discharge, or reaching the EHR
as an Observation.

The ranges (``plausible_*``) are distinct from the alert thresholds: a systolic of 60 mmHg is plausible and
alerts; a systolic of 4 or 5e-324 is refused. A time in the future is refused by the service's clock
(``shared.clock.ClinicalClock``), on the HTTP path and the Kafka path alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading

_RANGES = (
    ("systolic_mmhg", "plausible_systolic_min_mmhg", "plausible_systolic_max_mmhg", "mmHg"),
    ("diastolic_mmhg", "plausible_diastolic_min_mmhg", "plausible_diastolic_max_mmhg", "mmHg"),
    ("heart_rate_per_min", "plausible_heart_rate_min_per_min", "plausible_heart_rate_max_per_min", "/min"),
    ("spo2_percent", "plausible_spo2_min_percent", "plausible_spo2_max_percent", "%"),
    ("respiratory_rate_per_min", "plausible_respiratory_rate_min_per_min", "plausible_respiratory_rate_max_per_min",
     "/min"),
)


def require_plausible_reading(reading: VitalsReading, settings: SessionSettings) -> None:
    """Each measured value within its ``plausible_*`` range (inclusive), or an error naming the value's field."""
    for name, low_setting, high_setting, unit in _RANGES:
        value = getattr(reading, name)
        if value is None:
            continue
        low, high = getattr(settings, low_setting), getattr(settings, high_setting)
        if not low <= value <= high:
            raise DocumentationInputError(
                name, f"{value:g} {unit} is not a plausible value (outside {low:g}-{high:g} {unit}): check the entry "
                      "or the device")


def session_floor(scheduled_start: datetime, checked_in_at: datetime | None, settings: SessionSettings) -> datetime:
    """The earliest time a clinical act of the session can have: check-in (the scheduled start before it) minus
    the clinic's margin (a reading taken in the waiting room just before check-in is still charted)."""
    anchor = checked_in_at if checked_in_at is not None else scheduled_start
    return anchor - timedelta(minutes=settings.clinical_time_margin_min)


def require_in_session(field: str, moment: datetime, floor: datetime) -> None:
    if moment < floor:
        raise DocumentationInputError(
            field, f"{moment.isoformat()} is before this session (earliest {floor.isoformat()}): check the date")
