"""The base of documentation's stored records: the shared JSON codec (``shared.records``), with a stored document
that does not fit refused like any other bad input, as a ``DocumentationInputError`` naming the field."""

from __future__ import annotations

from services.documentation.domain.errors import DocumentationInputError
from shared.records import JsonRecord, RecordError


class DocumentationRecord(JsonRecord):
    @classmethod
    def record_error(cls, error: RecordError) -> DocumentationInputError:
        return DocumentationInputError(error.path, error.message)
