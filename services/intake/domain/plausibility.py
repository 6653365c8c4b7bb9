"""Plausibility of the times and numbers an intake records (issue 13, defect 24): an impossible value is refused
with the field named before anything is stored or sent, never turned into an eligibility decision.

Times: a part's time (answered, rated, signed, measured, screened) must not be later than now plus the clinic's
clock-skew allowance, nor earlier than the intake's start (or its referral, whichever is first) minus the
look-back window; a reading taken from the EHR only has to fall within the patient's life (not before the earliest
possible birth date from their age) and not in the future. Numbers: each has a clinic range (settings.py).
The decision re-checks the stored times against the decision time (``future_part_times``) so a record stored
before these checks cannot decide on a time after the decision.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.settings import IntakeSettings

_MIN = datetime.min


def latest_allowed(now: datetime, settings: IntakeSettings) -> datetime:
    return now + timedelta(minutes=settings.clock_skew_minutes)


def earliest_part_time(intake: Intake, settings: IntakeSettings) -> datetime:
    """The intake's start (or its referral, if earlier) minus the look-back window."""
    start = intake.started_at
    if intake.referral is not None and intake.referral.requested_at < start:
        start = intake.referral.requested_at
    return _minus(start, timedelta(days=settings.part_time_lookback_days))


def earliest_birth(intake: Intake, now: datetime) -> datetime | None:
    """The earliest birth date the patient's age allows (age + 1 years before now); None without an age."""
    patient = intake.patient
    if patient is None or patient.age_years is None:
        return None
    return _minus(now, timedelta(days=366 * (patient.age_years + 1)))


def check_part_time(intake: Intake, moment: datetime, field: str, settings: IntakeSettings,
                    now: datetime | None) -> None:
    """IntakeInputError naming ``field`` when ``moment`` is after now (+ skew) or before the look-back window."""
    if now is not None and moment > latest_allowed(now, settings):
        raise IntakeInputError(field, f"{moment.isoformat()} is in the future (now {now.isoformat()}, "
                                      f"{settings.clock_skew_minutes:g} min clock skew allowed)")
    earliest = earliest_part_time(intake, settings)
    if moment < earliest:
        raise IntakeInputError(field, f"{moment.isoformat()} is more than {settings.part_time_lookback_days:g} days "
                                      "before the intake (or its referral) started")


def check_ehr_time(intake: Intake, moment: datetime, field: str, settings: IntakeSettings, now: datetime) -> None:
    """A time read from the EHR: not in the future (+ skew), not before the patient can have been born."""
    if moment > latest_allowed(now, settings):
        raise IntakeInputError(field, f"{moment.isoformat()} is in the future")
    born = earliest_birth(intake, now)
    if born is not None and moment < born:
        raise IntakeInputError(field, f"{moment.isoformat()} is before the patient was born")


def check_number(value: float, field: str, bounds: tuple[float, float], unit: str = "") -> None:
    low, high = bounds
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise IntakeInputError(field, f"{value:g}{suffix} is outside the plausible range {low:g}-{high:g}{suffix}")


def future_part_times(intake: Intake, at: datetime, settings: IntakeSettings) -> list[str]:
    """The parts whose recorded time is after ``at`` (+ skew): listed as a blocking reason at decision time."""
    limit = latest_allowed(at, settings)
    found = []
    for name, moment in part_times(intake):
        if moment is not None and moment > limit:
            found.append(name)
    return found


def part_times(intake: Intake) -> list[tuple[str, datetime | None]]:
    vitals = intake.vitals
    readings = [("blood pressure", vitals.blood_pressure), ("heart rate", vitals.heart_rate_per_min),
                ("SpO2", vitals.spo2_pct), ("respiratory rate", vitals.respiratory_rate_per_min),
                ("weight", vitals.weight_kg), ("height", vitals.height_cm)]
    times: list[tuple[str, datetime | None]] = [(name, r.measured_at if r else None) for name, r in readings]
    times += [
        ("contraindication screen", intake.contraindications.screened_at if intake.contraindications else None),
        ("PHQ-9", intake.phq9.answered_at if intake.phq9 else None),
        ("MADRS", intake.madrs.rated_at if intake.madrs else None),
        ("C-SSRS screener", intake.cssrs.answered_at if intake.cssrs else None),
        ("consent", intake.consent.signed_at if intake.consent else None),
        ("C-SSRS review", intake.cssrs_review.reviewed_at if intake.cssrs_review else None),
        ("urgent-use override", intake.urgent_use.overridden_at if intake.urgent_use else None),
    ]
    times += [(f"override of {o.key}", o.overridden_at) for o in intake.overrides]
    return times


def _minus(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment - delta
    except OverflowError:
        return _MIN.replace(tzinfo=moment.tzinfo)
