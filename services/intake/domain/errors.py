"""Domain errors the web layer turns into a 4xx OperationOutcome naming ``field``."""
from __future__ import annotations

from shared.errors import FieldInputError


class IntakeInputError(FieldInputError):
    """Input the intake cannot accept; ``field`` is a JSON-pointer-like path such as ``phq9.items[3]``."""


class IntakeStateError(ValueError):
    """The intake's lifecycle refuses the change (e.g. recording after a decision without reopening): a 409."""

    def __init__(self, message: str, field: str = "status"):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
