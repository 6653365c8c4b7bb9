"""FHIR vital-sign Observation → BaselineVitals carrying that one reading (merge with ``record_vitals``).

Reads BP panel 85354-9 (components 8480-6 / 8462-4 mm[Hg]), HR 8867-4 /min, SpO2 59408-5 or 2708-6 %,
RR 9279-1 /min, weight 29463-7 (kg, or [lb_av] converted) and height 8302-2 (cm, or [in_i] converted). UCUM
annotations are ignored ({beats}/min is /min). The EHR's Observation id is kept on the reading.
"""
from __future__ import annotations

from datetime import datetime

from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from services.intake.translators.common import FhirJson, fhir_datetime, validated
from shared.errors import FhirMappingError
from services.intake.translators.observation_vitals_out import READINGS
from shared.fhir.codes import BP_DIASTOLIC, BP_PANEL, BP_SYSTOLIC
from shared.fhir.datatypes import has_coding
from shared.fhir.vital_signs import (
    UNIT_CM, UNIT_INCH, UNIT_KG, UNIT_POUND, USABLE_STATUSES, Conversions, VitalSignError, blood_pressure_mmhg,
    converted_value, effective_text, vital_sign_value,
)
from shared.units import inches_to_cm, pounds_to_kg

# Converted weights are kept to 0.01 kg and heights to 0.1 cm; values given in kg and cm are kept as sent.
_CONVERSIONS: dict[str, Conversions] = {
    "weight_kg": {UNIT_KG: lambda kg: kg, UNIT_POUND: lambda pounds: round(pounds_to_kg(pounds), 2)},
    "height_cm": {UNIT_CM: lambda cm: cm, UNIT_INCH: lambda inches: round(inches_to_cm(inches), 1)},
}
_WHERE = "Observation"


def vitals_from_fhir(observation: FhirJson) -> BaselineVitals:
    validated(observation, "Observation")
    if observation["status"] not in USABLE_STATUSES:
        raise FhirMappingError("Observation.status", f"status {observation['status']!r} is not a usable result")
    measured_at = _effective(observation)
    ehr_id = observation.get("id")
    code = observation.get("code")
    try:
        if has_coding(code, BP_PANEL):
            return BaselineVitals(blood_pressure=_blood_pressure(observation, measured_at, ehr_id))
        for field, _measure, codes in READINGS:
            if any(has_coding(code, c) for c in codes):
                return BaselineVitals(**{field: VitalReading(_value(observation, field, codes[0].unit or ""),
                                                             measured_at, ehr_id)})
    except VitalSignError as error:
        raise FhirMappingError(error.field, error.message) from None
    raise FhirMappingError("Observation.code", "not a vital sign the intake reads (BP panel, HR, SpO2, RR, weight, "
                                               "height by LOINC)")


def _value(observation: FhirJson, field: str, unit: str) -> float:
    conversions = _CONVERSIONS.get(field)
    value = (converted_value(observation, conversions, _WHERE) if conversions
             else vital_sign_value(observation, unit, _WHERE))
    if value is None:
        reason = (observation.get("dataAbsentReason") or {}).get("text") or "data absent"
        raise FhirMappingError("Observation.valueQuantity", f"the observation has no value ({reason})")
    return value


def _effective(observation: FhirJson) -> datetime:
    return fhir_datetime(effective_text(observation), "Observation.effectiveDateTime")


def _blood_pressure(observation: FhirJson, measured_at: datetime, ehr_id: str | None) -> BloodPressure:
    systolic, diastolic = blood_pressure_mmhg(observation, _WHERE)
    for code, value in ((BP_SYSTOLIC, systolic), (BP_DIASTOLIC, diastolic)):
        if value is None:
            raise FhirMappingError("Observation.component", f"the BP panel has no {code.display} ({code.code})")
    assert systolic is not None and diastolic is not None  # both checked above
    return BloodPressure(systolic, diastolic, measured_at, ehr_id)
