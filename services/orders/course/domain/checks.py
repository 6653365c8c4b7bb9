"""Input checks shared by the course's functions; each raises CourseInputError naming the field."""
from __future__ import annotations

import math
from datetime import datetime

from services.orders.course.domain.errors import CourseInputError


def require_aware(moment: object, field: str) -> datetime:
    """A timezone-aware datetime: clinic, EHR and server clocks sit in different zones."""
    if not isinstance(moment, datetime):
        raise CourseInputError(field, "a date-time is required")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CourseInputError(field, "the date-time must carry a timezone")
    return moment


def require_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CourseInputError(field, "required text is missing")
    return value.strip()


def optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CourseInputError(field, "must be text")
    return value.strip() or None


def require_positive(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise CourseInputError(field, "a number above 0 is required")
    return float(value)


def require_count(value: object, field: str, low: int, high: int, what: str) -> int:
    """A whole number in ``low``-``high``; ``what`` says what the range is, e.g. "infusions in an induction"."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CourseInputError(field, f"{value!r} is outside {low}-{high} {what}")
    return value
