"""Domain errors that name the input field at fault, so the web layer can answer 4xx with an OperationOutcome
whose ``expression`` points at it, and the CPOE check can list every reason at once."""
from __future__ import annotations

from dataclasses import dataclass

from shared.records import JsonRecord


@dataclass(frozen=True)
class Violation(JsonRecord):
    """One broken rule: ``field`` is a JSON-pointer-like path (``weight.measured_at``), ``message`` says why."""

    field: str
    message: str


class OrdersInputError(ValueError):
    """Bad input for an orders operation. ``field``/``message`` describe the first problem; ``violations`` holds
    all of them (one per broken rule) so a caller can report everything in one answer."""

    def __init__(self, field: str, message: str, violations: tuple[Violation, ...] = ()):
        self.field = field
        self.message = message
        self.violations = violations or (Violation(field, message),)
        super().__init__(f"{field}: {message}")

    @classmethod
    def from_violations(cls, violations: list[Violation] | tuple[Violation, ...]) -> OrdersInputError:
        first = violations[0]
        return cls(first.field, first.message, tuple(violations))


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


def raise_if_any(violations: list[Violation], error_type: type[OrdersInputError] = OrdersInputError) -> None:
    """Raise ``error_type`` carrying every violation, when there is at least one."""
    if violations:
        raise error_type.from_violations(violations)
