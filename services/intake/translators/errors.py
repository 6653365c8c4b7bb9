"""The error a translator-in raises for a resource it cannot map (a missing code, a wrong unit...)."""
from __future__ import annotations

from services.intake.domain.errors import IntakeInputError


class FhirMappingError(IntakeInputError):
    """``field`` is a FHIRPath-like location in the resource, e.g. ``Observation.valueQuantity.code``."""
