"""Domain errors that name the input field at fault, so the web layer can answer 4xx with an OperationOutcome
whose ``expression`` points at it, and the CPOE check can list every reason at once."""
from __future__ import annotations

from shared.errors import FieldInputError, Violation

__all__ = ["OrdersInputError", "StaleWeightError", "EligibilityRefusedError", "IllegalTransitionError", "Violation"]


class OrdersInputError(FieldInputError):
    """Bad input for an orders operation; ``violations`` holds every broken rule (the CPOE check lists them all)."""


class StaleWeightError(OrdersInputError):
    """No body weight recorded within the clinic's window: a dose must not be calculated from an old weight."""


class EligibilityRefusedError(OrdersInputError):
    """The patient's intake is not eligible or consent is not on file, so the order is refused."""


class IllegalTransitionError(OrdersInputError):
    """An order status change that the lifecycle does not allow; names the current and the wanted state."""

    def __init__(self, current: str, wanted: str):
        self.current = current
        self.wanted = wanted
        super().__init__("status", f"cannot change an order from {current!r} to {wanted!r}")
