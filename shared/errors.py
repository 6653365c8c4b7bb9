"""The one base of every input error: a ``field`` (a JSON-pointer-like path such as ``vitals.systolic_mmhg`` or a
FHIRPath such as ``Observation.valueQuantity.code``) and a ``message``.

Why one base: the web layer of every service answers it with a 4xx OperationOutcome whose ``expression`` names the
field, and the Kafka glue sends it to the dead-letter topic instead of retrying; each service's own input error
extends it, so a rule in ``shared/`` (``shared.checks``) and a service's rule fail the same way."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from shared.records import JsonRecord

E = TypeVar("E", bound="FieldInputError")


@dataclass(frozen=True)
class Violation(JsonRecord):
    """One broken rule: ``field`` is where, ``message`` says why."""

    field: str
    message: str


class FieldInputError(ValueError):
    """Input that cannot be accepted. ``field``/``message`` describe the first problem; ``violations`` holds all
    of them (one per broken rule) so a caller can report everything in one answer."""

    def __init__(self, field: str, message: str, violations: tuple[Violation, ...] = ()):
        self.field = field
        self.message = message
        self.violations = violations or (Violation(field, message),)
        super().__init__(f"{field}: {message}")

    @classmethod
    def from_violations(cls: type[E], violations: Sequence[Violation]) -> E:
        first = violations[0]
        return cls(first.field, first.message, tuple(violations))

    def under(self: E, prefix: str) -> E:
        """The same error with ``prefix`` in front of its field, for a record checked inside a larger input."""
        if not prefix:
            return self
        joined = prefix if not self.field else f"{prefix}{'' if self.field.startswith('[') else '.'}{self.field}"
        copy = self.__class__.__new__(self.__class__)  # subclasses may have their own constructor
        copy.__dict__.update(self.__dict__)
        copy.field = joined
        copy.violations = (Violation(joined, self.message),)
        copy.args = (f"{joined}: {self.message}",)
        return copy


class FhirMappingError(FieldInputError):
    """A FHIR resource that is invalid or cannot be mapped (a missing code, a wrong unit, an unknown status);
    ``field`` is the FHIRPath of the element at fault. A 4xx or a dead letter, never a retry."""


def raise_if_any(violations: Sequence[Violation], error_type: type[FieldInputError] = FieldInputError) -> None:
    """Raise ``error_type`` carrying every violation, when there is at least one."""
    if violations:
        raise error_type.from_violations(violations)


@contextmanager
def input_field(prefix: str) -> Iterator[None]:
    """Re-raise a ``FieldInputError`` raised inside with ``prefix`` in front of its field."""
    try:
        yield
    except FieldInputError as error:
        raise error.under(prefix) from None
