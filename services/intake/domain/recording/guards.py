"""What every record function checks first: the intake is still in progress, a choice is one of its enum's values,
a clinic range is a (low, high) pair."""
from __future__ import annotations

from services.intake.domain.errors import IntakeInputError, IntakeStateError
from services.intake.domain.model import Intake, IntakeStatus
from shared.checks import FieldChecks


def require_in_progress(intake: Intake) -> None:
    if intake.status is not IntakeStatus.IN_PROGRESS:
        raise IntakeStateError("the intake is decided; reopen it before recording changes")


checked_enum = FieldChecks(IntakeInputError).require_member


def plausible_bounds(bounds: tuple[float, ...]) -> tuple[float, float]:
    return bounds[0], bounds[1]
