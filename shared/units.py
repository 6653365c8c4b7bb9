"""Unit conversions with their exact international definitions (not clinical choices, so not settings). Values are
held in kg and cm everywhere; FHIR readers convert on the way in (``shared.fhir.vital_signs``)."""
from __future__ import annotations

KG_PER_POUND = 0.45359237  # international avoirdupois pound, exact by definition (1959)
CM_PER_INCH = 2.54  # international inch, exact by definition (1959)
INCHES_PER_FOOT = 12


def pounds_to_kg(pounds: float) -> float:
    return pounds * KG_PER_POUND


def inches_to_cm(inches: float) -> float:
    return inches * CM_PER_INCH


def cm_to_inches(centimetres: float) -> float:
    return centimetres / CM_PER_INCH
