"""The input checks every service's domain uses, one set: each raises the service's own input error (a
``shared.errors.FieldInputError``) naming the field, so the web layer answers 400 with the field and a Kafka
handler dead-letters the message.

Call order is always ``(value, field)``; a service binds its error once (``FieldChecks(IntakeInputError)``) and
its ``domain/checks.py`` unpacks the bound functions (``functions()``)."""
from __future__ import annotations

import enum
import math
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from shared.errors import FieldInputError
from shared.people import Person

M = TypeVar("M", bound=enum.Enum)


class FieldChecks:
    """The checks, raising ``error`` (a subclass of ``FieldInputError``)."""

    def __init__(self, error: type[FieldInputError] = FieldInputError):
        self.error = error

    def functions(self) -> tuple[Callable[[object, str], datetime], Callable[[object, str], str],
                                 Callable[[object, str], str | None], Callable[[object, str], float],
                                 Callable[[object, str], float], Callable[[object, str, int, int, str], int]]:
        """The bound checks, in the order a service's ``domain/checks.py`` unpacks them: require_aware,
        require_text, optional_text, require_number, require_positive, require_count."""
        return (self.require_aware, self.require_text, self.optional_text, self.require_number,
                self.require_positive, self.require_count)

    def require_aware(self, moment: object, field: str) -> datetime:
        """A timezone-aware datetime: clinic, EHR and server clocks sit in different zones."""
        if not isinstance(moment, datetime):
            raise self.error(field, "a date-time is required")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.error(field, "the date-time must carry a timezone")
        return moment

    def require_text(self, text: object, field: str) -> str:
        """Non-blank text, stripped."""
        if not isinstance(text, str) or not text.strip():
            raise self.error(field, "required text is missing")
        return text.strip()

    def optional_text(self, text: object, field: str) -> str | None:
        """Text stripped, or None when absent or blank."""
        if text is None:
            return None
        if not isinstance(text, str):
            raise self.error(field, "must be text")
        return text.strip() or None

    def require_person(self, person: object, field: str) -> Person:
        """Who did something, as a ``shared.people.Person`` (a reference and a display), never a bare name."""
        if not isinstance(person, Person):
            raise self.error(field, "a person (reference and display) is required")
        return person

    def require_number(self, value: object, field: str) -> float:
        """A finite number (booleans are not numbers here)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(field, "a finite number is required")
        return float(value)

    def require_positive(self, value: object, field: str) -> float:
        """A finite number above 0."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise self.error(field, f"a number above 0 is required, got {value!r}")
        return float(value)

    def require_count(self, value: object, field: str, low: int, high: int, what: str) -> int:
        """A whole number in ``low``-``high``; ``what`` says what the range is, e.g. "infusions in an induction"."""
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(field, f"{value!r} is outside {low}-{high} {what}")
        return value

    def require_member(self, enum_type: type[M], value: object, field: str) -> M:
        """The member of ``enum_type`` that is ``value`` or has it as its value; the error lists the allowed values."""
        if isinstance(value, enum_type):
            return value
        try:
            return enum_type(value)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in enum_type)
            raise self.error(field, f"{value!r} is not one of {allowed}") from None
