"""What every record function checks first: the intake is still in progress, a choice is one of its enum's values,
a clinic range is a (low, high) pair."""
from __future__ import annotations

from enum import Enum
from typing import TypeVar

from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.model import Intake, IntakeStatus

E = TypeVar("E", bound=Enum)


def require_in_progress(intake: Intake) -> None:
    if intake.status is not IntakeStatus.IN_PROGRESS:
        raise IntakeStateError("the intake is decided; reopen it before recording changes")


def checked_enum(enum_type: type[E], value: object, field: str) -> E:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise IntakeInputError(field, f"{value!r} is not one of {allowed}") from None


def plausible_bounds(bounds: tuple[float, ...]) -> tuple[float, float]:
    return bounds[0], bounds[1]
