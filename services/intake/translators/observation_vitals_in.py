"""FHIR vital-sign Observation → BaselineVitals carrying that one reading (merge with ``record_vitals``).

Reads BP panel 85354-9 (components 8480-6 / 8462-4 mm[Hg]), HR 8867-4 /min, SpO2 59408-5 or 2708-6 %,
RR 9279-1 /min, weight 29463-7 (kg, or [lb_av] converted) and height 8302-2 (cm, or [in_i] converted). UCUM
annotations are ignored ({beats}/min is /min). The EHR's Observation id is kept on the reading.
"""
from __future__ import annotations

from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from services.intake.translators.common import FhirJson, fhir_datetime, ucum_value, validated
from services.intake.translators.errors import FhirMappingError
from services.intake.translators.units import height_in_cm, require_unit, weight_in_kg
from shared.fhir.codes import (
    BODY_HEIGHT,
    BODY_WEIGHT,
    BP_DIASTOLIC,
    BP_PANEL,
    BP_SYSTOLIC,
    HEART_RATE,
    RESPIRATORY_RATE,
    SPO2,
    SPO2_ARTERIAL,
    Code,
)
from shared.fhir.datatypes import has_coding

USABLE_STATUSES = frozenset({"final", "amended", "corrected"})
_SIMPLE_READINGS: tuple[tuple[tuple[Code, ...], str, str], ...] = (
    ((HEART_RATE,), "heart_rate_per_min", "/min"),
    ((SPO2, SPO2_ARTERIAL), "spo2_pct", "%"),
    ((RESPIRATORY_RATE,), "respiratory_rate_per_min", "/min"),
)


def vitals_from_fhir(observation: FhirJson) -> BaselineVitals:
    validated(observation, "Observation")
    if observation["status"] not in USABLE_STATUSES:
        raise FhirMappingError("Observation.status", f"status {observation['status']!r} is not a usable result")
    measured_at = _effective(observation)
    ehr_id = observation.get("id")
    code = observation.get("code")
    if has_coding(code, BP_PANEL):
        return BaselineVitals(blood_pressure=_blood_pressure(observation, measured_at, ehr_id))
    if "valueQuantity" not in observation:
        reason = (observation.get("dataAbsentReason") or {}).get("text") or "no valueQuantity"
        raise FhirMappingError("Observation.valueQuantity", f"the observation has no value ({reason})")
    value, unit = ucum_value(observation["valueQuantity"], "Observation.valueQuantity")
    unit_location = "Observation.valueQuantity.code"
    if has_coding(code, BODY_WEIGHT):
        return BaselineVitals(weight_kg=VitalReading(weight_in_kg(value, unit, unit_location), measured_at, ehr_id))
    if has_coding(code, BODY_HEIGHT):
        return BaselineVitals(height_cm=VitalReading(height_in_cm(value, unit, unit_location), measured_at, ehr_id))
    for codes, measure, expected_unit in _SIMPLE_READINGS:
        if any(has_coding(code, c) for c in codes):
            require_unit(unit, expected_unit, unit_location)
            return BaselineVitals(**{measure: VitalReading(value, measured_at, ehr_id)})
    raise FhirMappingError("Observation.code", "not a vital sign the intake reads (BP panel, HR, SpO2, RR, weight, "
                                               "height by LOINC)")


def _effective(observation: FhirJson):
    text = (
        observation.get("effectiveDateTime")
        or observation.get("effectiveInstant")
        or (observation.get("effectivePeriod") or {}).get("start")
    )
    return fhir_datetime(text, "Observation.effectiveDateTime")


def _blood_pressure(observation: FhirJson, measured_at, ehr_id: str | None) -> BloodPressure:
    values = {}
    for code in (BP_SYSTOLIC, BP_DIASTOLIC):
        index, component = next(
            ((i, c) for i, c in enumerate(observation.get("component") or []) if has_coding(c.get("code"), code)),
            (None, None),
        )
        if component is None:
            raise FhirMappingError("Observation.component", f"the BP panel has no {code.display} ({code.code})")
        location = f"Observation.component[{index}].valueQuantity"
        value, unit = ucum_value(component.get("valueQuantity"), location)
        require_unit(unit, "mm[Hg]", f"{location}.code")
        values[code.code] = value
    return BloodPressure(values[BP_SYSTOLIC.code], values[BP_DIASTOLIC.code], measured_at, ehr_id)
