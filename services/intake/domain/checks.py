"""Input checks shared by the record functions (timezone-aware times, non-blank text, finite numbers)."""
from __future__ import annotations

import math
from datetime import datetime

from services.intake.domain.errors import IntakeInputError


def require_aware(moment: object, field: str) -> datetime:
    if not isinstance(moment, datetime):
        raise IntakeInputError(field, "a date-time is required")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise IntakeInputError(field, "the date-time must carry a timezone")
    return moment


def require_text(text: object, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise IntakeInputError(field, "required text is missing")
    return text.strip()


def optional_text(text: object, field: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise IntakeInputError(field, "must be text")
    return text.strip() or None


def require_number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise IntakeInputError(field, "a finite number is required")
    return float(value)
