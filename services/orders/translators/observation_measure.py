"""What the weight and height translators-in share: a final Observation with one LOINC code, a Quantity in an
allowed unit (converted to the domain's unit) and when it was measured."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.fhir.codes import Code
from shared.fhir.datatypes import has_coding
from shared.fhir.vital_signs import USABLE_STATUSES
from shared.errors import FhirMappingError
from shared.fhir.reading import converted_quantity, effective_time, validated


def read_measure(observation: dict[str, Any], code: Code,
                 converters: dict[str, Callable[[float], float]]) -> tuple[float, datetime, str | None]:
    """(value in the domain unit, measured at, Observation id)."""
    observation = validated(observation, "Observation")
    if not has_coding(observation.get("code"), code):
        raise FhirMappingError("Observation.code", f"expected {code.display} (LOINC {code.code})")
    if observation.get("status") not in USABLE_STATUSES:
        raise FhirMappingError("Observation.status", f"a {observation.get('status')!r} observation cannot be used; "
                                                     "expected final, amended or corrected")
    value = converted_quantity(observation.get("valueQuantity"), "Observation.valueQuantity", converters)
    if value <= 0:
        raise FhirMappingError("Observation.valueQuantity.value", "must be above 0")
    return value, effective_time(observation), observation.get("id")
