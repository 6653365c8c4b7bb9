"""Domain errors. Both are ValueErrors so nothing slips through as a 500; the web layer maps
``DocumentationInputError`` to 400/422 (naming ``field``) and ``TransitionNotAllowed`` to 409 (giving ``reason``)."""

from __future__ import annotations

from shared.errors import FieldInputError, input_field

__all__ = ["DocumentationError", "DocumentationInputError", "TransitionNotAllowed", "SignedNoteImmutable",
           "input_field"]


class DocumentationError(ValueError):
    """Base of every error the documentation domain raises on purpose."""


class DocumentationInputError(FieldInputError, DocumentationError):
    """Bad input: ``field`` is a JSON-pointer-like path (``vitals.systolic_mmhg``, ``cadss.item_scores[7]``)."""


class TransitionNotAllowed(DocumentationError):
    """The session cannot do this now; ``reason`` says why, ``failing`` lists every failing criterion."""

    def __init__(self, reason: str, failing: tuple[str, ...] = ()):
        self.reason = reason
        self.failing = tuple(failing)
        super().__init__(reason)


class SignedNoteImmutable(TransitionNotAllowed):
    """A signed procedure note cannot be edited; amend it instead (a new version replaces it)."""
