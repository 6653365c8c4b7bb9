"""US Core vital-sign Observations at the datatype level, shared by the intake (baseline vitals) and documentation
(the infusion flowsheet) translators; each service keeps its own identifiers and domain types.

Built: one final Observation per vital sign with its LOINC code(s), the vital-signs category, the patient and the
time, and either a UCUM ``valueQuantity`` or, for blood pressure, the panel (85354-9) with a systolic and a diastolic
component in mm[Hg]. Read: a measure's value in the unit the sign is defined in (UCUM annotations such as
``{beats}/min`` ignored), body weight and height converted from pounds and inches, and the BP panel's components; a
measure given with a dataAbsentReason reads as None. ``VitalSignError`` names the element at fault, for the service
to raise as its own mapping error.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.fhir.codes import BP_DIASTOLIC, BP_PANEL, BP_SYSTOLIC, UCUM, VITAL_SIGNS_CATEGORY, Code
from shared.fhir.datatypes import FhirJson, codeable_concept, coding, has_coding, instant, quantity, reference
from shared.units import inches_to_cm, pounds_to_kg

# An Observation (or a RiskAssessment: R4 binds its status to the same ObservationStatus codes) in one of these
# statuses is a result that may be used (never preliminary, cancelled or entered-in-error).
USABLE_STATUSES = ("final", "amended", "corrected")

UNIT_KG = "kg"
UNIT_POUND = "[lb_av]"
UNIT_CM = "cm"
UNIT_INCH = "[in_i]"
MM_HG = "mm[Hg]"

Conversions = Mapping[str, Callable[[float], float]]  # UCUM code → conversion into the unit the reader wants
_ANNOTATION = re.compile(r"\{[^}]*\}")


def _unchanged(value: float) -> float:
    return value


# Body weight and height as the EHR may give them (UCUM code → kg, cm).
TO_KG: Conversions = {UNIT_KG: _unchanged, UNIT_POUND: pounds_to_kg}
TO_CM: Conversions = {UNIT_CM: _unchanged, UNIT_INCH: inches_to_cm}


class VitalSignError(ValueError):
    """A vital sign that cannot be read; ``field`` is the FHIRPath-like element (``Observation.component[0]...``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


# --- building ----------------------------------------------------------------------------------------------------
def vital_sign_observation(codes: Sequence[Code], identifier: FhirJson, patient_id: str,
                           measured_at: datetime) -> FhirJson:
    """A final vital-sign Observation coded with ``codes`` (the first names it), without its value: the caller sets
    ``valueQuantity`` (``vital_sign_quantity``; blood pressure has ``blood_pressure_observation``) and adds what it
    records beside (encounter, performer)."""
    return {
        "resourceType": "Observation",
        "identifier": [identifier],
        "status": "final",
        "category": [codeable_concept(VITAL_SIGNS_CATEGORY)],
        "code": {"coding": [coding(code) for code in codes], "text": codes[0].display},
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(measured_at),
    }


def vital_sign_quantity(value: float, code: Code) -> FhirJson:
    """``value`` as a Quantity in the UCUM unit ``code`` is measured in."""
    if code.unit is None:
        raise ValueError(f"{code.display} has no unit")
    return quantity(value, code.unit, code.unit_display)


def blood_pressure_observation(identifier: FhirJson, patient_id: str, measured_at: datetime,
                               systolic_mmhg: float, diastolic_mmhg: float) -> FhirJson:
    """The BP panel (85354-9): no value of its own, a systolic and a diastolic component."""
    panel = vital_sign_observation((BP_PANEL,), identifier, patient_id, measured_at)
    panel["component"] = [
        {"code": codeable_concept(BP_SYSTOLIC), "valueQuantity": vital_sign_quantity(systolic_mmhg, BP_SYSTOLIC)},
        {"code": codeable_concept(BP_DIASTOLIC), "valueQuantity": vital_sign_quantity(diastolic_mmhg, BP_DIASTOLIC)},
    ]
    return panel


# --- reading -----------------------------------------------------------------------------------------------------
def effective_text(observation: FhirJson) -> str | None:
    """When the Observation was measured, as the EHR wrote it: effectiveDateTime, effectiveInstant, or the start of
    effectivePeriod (None when it gives none of them)."""
    return (observation.get("effectiveDateTime") or observation.get("effectiveInstant")
            or (observation.get("effectivePeriod") or {}).get("start"))


def vital_sign_value(element: FhirJson, unit: str, where: str) -> float | None:
    """The ``valueQuantity`` of ``element`` (an Observation or a component at ``where``) in ``unit``; None when the
    element gives a dataAbsentReason instead of a value."""
    return converted_value(element, {unit: _unchanged}, where)


def converted_value(element: FhirJson, conversions: Conversions, where: str) -> float | None:
    """The ``valueQuantity`` of ``element`` converted from any unit of ``conversions``; another unit, or a unit that
    is not UCUM, is an error so that a value is never read in the wrong unit."""
    if "valueQuantity" not in element:
        if element.get("dataAbsentReason"):
            return None
        raise VitalSignError(f"{where}.valueQuantity", "expected a valueQuantity (or a dataAbsentReason)")
    value_quantity = element["valueQuantity"] or {}
    if value_quantity.get("value") is None:
        raise VitalSignError(f"{where}.valueQuantity.value", "a value is required")
    system = value_quantity.get("system")
    if system is not None and system != UCUM:
        raise VitalSignError(f"{where}.valueQuantity.system", f"expected UCUM units, got {system!r}")
    unit = value_quantity.get("code") or value_quantity.get("unit")
    if not unit:
        raise VitalSignError(f"{where}.valueQuantity.code", "a UCUM unit code is required")
    convert = conversions.get(_without_annotations(unit))
    if convert is None:
        expected = " or ".join(repr(known) for known in conversions)
        raise VitalSignError(f"{where}.valueQuantity.code", f"unit {unit!r} is not supported: expected unit {expected}")
    return convert(float(value_quantity["value"]))


def blood_pressure_mmhg(panel: FhirJson, where: str) -> tuple[float | None, float | None]:
    """(systolic, diastolic) of a BP panel at ``where``; None for a component that is missing or data-absent."""
    return _component_value(panel, BP_SYSTOLIC, where), _component_value(panel, BP_DIASTOLIC, where)


def _component_value(panel: FhirJson, code: Code, where: str) -> float | None:
    for index, component in enumerate(panel.get("component") or []):
        if has_coding(component.get("code"), code):
            return vital_sign_value(component, MM_HG, f"{where}.component[{index}]")
    return None


def _without_annotations(unit: str) -> str:
    """UCUM annotations in braces are unity: ``{beats}/min`` is ``/min``."""
    return _ANNOTATION.sub("", unit) or unit
