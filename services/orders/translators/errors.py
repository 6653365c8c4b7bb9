"""The error translators-in raise for input they cannot map. It is an OrdersInputError whose ``field`` is the
FHIRPath of the element at fault, so the web layer answers it like any other input error."""
from __future__ import annotations

from services.orders.domain.errors import OrdersInputError


class FhirMappingError(OrdersInputError):
    """A FHIR resource that is invalid or cannot be mapped (missing code, wrong unit …)."""
