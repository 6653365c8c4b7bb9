"""Domain errors. Both are ValueErrors so nothing slips through as a 500; the web layer maps
``DocumentationInputError`` to 400/422 (naming ``field``) and ``TransitionNotAllowed`` to 409 (giving ``reason``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class DocumentationError(ValueError):
    """Base of every error the documentation domain raises on purpose."""


class DocumentationInputError(DocumentationError):
    """Bad input: ``field`` is a JSON-pointer-like path (``vitals.systolic_mmhg``, ``cadss.item_scores[7]``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def under(self, prefix: str) -> DocumentationInputError:
        """The same error with ``prefix`` in front of its field, for a record validated inside a larger input."""
        if not prefix:
            return self
        joined = prefix if not self.field else f"{prefix}{'' if self.field.startswith('[') else '.'}{self.field}"
        return DocumentationInputError(joined, self.message)


class TransitionNotAllowed(DocumentationError):
    """The session cannot do this now; ``reason`` says why, ``failing`` lists every failing criterion."""

    def __init__(self, reason: str, failing: tuple[str, ...] = ()):
        self.reason = reason
        self.failing = tuple(failing)
        super().__init__(reason)


class SignedNoteImmutable(TransitionNotAllowed):
    """A signed procedure note cannot be edited; amend it instead (a new version replaces it)."""


@contextmanager
def input_field(prefix: str) -> Iterator[None]:
    """Re-raise a ``DocumentationInputError`` raised inside with ``prefix`` in front of its field."""
    try:
        yield
    except DocumentationInputError as error:
        raise error.under(prefix) from None
