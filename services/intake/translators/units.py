"""UCUM unit normalisation and the conversions the EHR may need (pounds → kg, inches → cm)."""
from __future__ import annotations

import re

from services.intake.translators.errors import FhirMappingError

KG_PER_POUND = 0.45359237  # international avoirdupois pound, exact
CM_PER_INCH = 2.54  # international inch, exact
_ANNOTATION = re.compile(r"\{[^}]*\}")


def without_annotations(unit: str) -> str:
    """UCUM annotations in braces are unity: ``{beats}/min`` is ``/min``."""
    return _ANNOTATION.sub("", unit) or unit


def weight_in_kg(value: float, unit: str, location: str) -> float:
    if unit == "kg":
        return value
    if unit == "[lb_av]":
        return round(value * KG_PER_POUND, 2)
    raise FhirMappingError(location, f"weight unit {unit!r} not supported (kg or [lb_av])")


def height_in_cm(value: float, unit: str, location: str) -> float:
    if unit == "cm":
        return value
    if unit == "[in_i]":
        return round(value * CM_PER_INCH, 1)
    raise FhirMappingError(location, f"height unit {unit!r} not supported (cm or [in_i])")


def require_unit(unit: str, expected: str, location: str) -> None:
    if without_annotations(unit) != expected:
        raise FhirMappingError(location, f"expected unit {expected!r}, got {unit!r}")
