"""The error a translator-in raises for input it cannot map (a missing code, a wrong unit, an unknown status)."""

from __future__ import annotations

from services.documentation.domain.errors import DocumentationInputError


class FhirMappingError(DocumentationInputError):
    """``field`` is a FHIRPath-like location (``Observation.valueQuantity.code``); a 4xx / dead-letter, not a retry."""
