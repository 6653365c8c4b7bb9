"""Whether pregnancy can apply to a patient (issue 13, defect 18): from the EHR's administrative sex and the age in
years, never from what is typed on the day. One rule for the intake's pregnancy screen item and the infusion day's
pregnancy check (documentation), so the two cannot disagree about the same patient.

A pregnancy item may be answered "not applicable" only for a patient the record shows cannot be of child-bearing
potential under the clinic's settings: administrative sex in the not-applicable sexes (default male), or an age
outside the child-bearing age range (default 10-55 years: a placeholder the clinic must confirm; no source was
read). Sex "other" or "unknown", an unknown age, or a patient not read from the EHR keeps pregnancy applicable: the
safe side. Administrative sex is not a reliable proxy for child-bearing potential (a transgender man can be
pregnant): a clinician may always answer the check instead of "not applicable".

Each service has its own copy of the two settings (``INTAKE_`` and ``DOCUMENTATION_`` prefixes, same defaults,
validated here); the clinic sets both the same.
"""
from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date

ADMINISTRATIVE_SEXES = ("male", "female", "other", "unknown")  # FHIR administrative-gender
DEFAULT_NOT_APPLICABLE_SEXES: tuple[str, ...] = ("male",)
# The only administrative sex a clinic may list: female, other and unknown can be pregnant (reviewer R3).
ALLOWED_NOT_APPLICABLE_SEXES: tuple[str, ...] = ("male",)
DEFAULT_CHILDBEARING_AGE_RANGE_YEARS: tuple[float, ...] = (10.0, 55.0)  # placeholder the clinic must confirm


def childbearing_potential(sex: str | None, age_years: float | None, not_applicable_sexes: Sequence[str],
                           age_range_years: Sequence[float]) -> bool:
    """True unless the record shows a sex or an age for which the clinic says pregnancy cannot apply. ``sex`` is
    the FHIR administrative gender (None: not known); ``age_years`` None: not known (applicable)."""
    if sex is not None and sex in not_applicable_sexes:
        return False
    if age_years is None:
        return True
    low, high = age_range_years
    return low <= age_years <= high


def possible_ages(birth_date: str, on: date) -> tuple[int, int]:
    """The youngest and the oldest whole-year age on ``on`` for a FHIR date (``YYYY``, ``YYYY-MM`` or
    ``YYYY-MM-DD``): a partial birth date allows a range, and the rule must hold for every age in it (a patient
    born "1971" may be 54 or 55). ValueError for a text that is not a FHIR date."""
    parts = birth_date.strip().split("-")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        raise ValueError(f"{birth_date!r} is not a FHIR date")
    year = int(parts[0])
    months = (int(parts[1]),) * 2 if len(parts) > 1 else (1, 12)
    first = date(year, months[0], int(parts[2]) if len(parts) == 3 else 1)
    last = date(year, months[1], int(parts[2]) if len(parts) == 3 else calendar.monthrange(year, months[1])[1])
    return _age(last, on), _age(first, on)


def childbearing_potential_from_birth_date(sex: str | None, birth_date: str | None, on: date,
                                           not_applicable_sexes: Sequence[str],
                                           age_range_years: Sequence[float]) -> bool:
    """``childbearing_potential`` for a FHIR birth date read on ``on``: applicable when any possible age is in the
    range; a missing or unreadable birth date is an unknown age (applicable unless the sex rules it out)."""
    if not birth_date:
        return childbearing_potential(sex, None, not_applicable_sexes, age_range_years)
    try:
        youngest, oldest = possible_ages(birth_date, on)
    except ValueError:
        return childbearing_potential(sex, None, not_applicable_sexes, age_range_years)
    if youngest < 0:  # a birth date after the day is an error in the record: an unknown age, not a child's
        return childbearing_potential(sex, None, not_applicable_sexes, age_range_years)
    return any(childbearing_potential(sex, age, not_applicable_sexes, age_range_years) for age in (youngest, oldest))


def validate_pregnancy_settings(not_applicable_sexes: Sequence[str], age_range_years: Sequence[float],
                                prefix: str = "") -> None:
    """ValueError naming the setting: sexes must be FHIR administrative genders and may only be male (none is
    allowed: the age alone rules pregnancy out); the range two numbers 0-130."""
    unknown = set(not_applicable_sexes) - set(ADMINISTRATIVE_SEXES)
    if unknown:
        raise ValueError(f"{prefix}pregnancy_not_applicable_sexes has unknown values {sorted(unknown)} (one of "
                         f"{', '.join(ADMINISTRATIVE_SEXES)})")
    can_be_pregnant = set(not_applicable_sexes) - set(ALLOWED_NOT_APPLICABLE_SEXES)
    if can_be_pregnant:
        raise ValueError(f"{prefix}pregnancy_not_applicable_sexes may name only "
                         f"{', '.join(ALLOWED_NOT_APPLICABLE_SEXES)}: {', '.join(sorted(can_be_pregnant))} can be "
                         "pregnant (other and unknown keep pregnancy applicable: the safe side)")
    if (len(age_range_years) != 2 or not all(0 <= bound <= 130 for bound in age_range_years)
            or age_range_years[0] >= age_range_years[1]):
        raise ValueError(f"{prefix}childbearing_age_range_years must be two numbers 'low,high' with "
                         f"0 <= low < high <= 130, got {tuple(age_range_years)}")


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
