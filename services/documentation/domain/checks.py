"""Small input checks shared by the records; each raises ``DocumentationInputError`` naming the field."""

from __future__ import annotations

import math
from datetime import datetime

from services.documentation.domain.errors import DocumentationInputError


def require_text(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DocumentationInputError(field, "required")


def require_aware(field: str, moment: datetime) -> None:
    if not isinstance(moment, datetime):
        raise DocumentationInputError(field, "expected a timestamp")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise DocumentationInputError(field, "timestamp needs a timezone offset")


def require_positive(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise DocumentationInputError(field, f"must be a positive number, got {value!r}")
