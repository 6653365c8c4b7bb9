"""Vitals reading → US Core vital-sign Observations: one BP panel (systolic and diastolic components, mm[Hg]),
heart rate, SpO2 (59408-5 with 2708-6) and respiratory rate, each present only when measured."""

from __future__ import annotations

from services.documentation.domain.vitals import VitalsReading
from services.documentation.translators import references
from services.documentation.translators.codes import VITAL_SIGNS_CATEGORY
from shared.fhir.codes import (
    BP_DIASTOLIC,
    BP_PANEL,
    BP_SYSTOLIC,
    HEART_RATE,
    RESPIRATORY_RATE,
    SPO2,
    SPO2_ARTERIAL,
    Code,
)
from shared.fhir.datatypes import FhirJson, codeable_concept, coding, identifier, instant, quantity
from shared.fhir.validate import validate_resource

# Last part of each Observation's identifier value ``{session}/{reading}/{measure}``; observation_vitals_in reads it.
MEASURE_BP = "bp"
MEASURE_HEART_RATE = "hr"
MEASURE_SPO2 = "spo2"
MEASURE_RESPIRATORY_RATE = "rr"


def vitals_observations(session_id: str, patient_id: str, reading: VitalsReading) -> list[FhirJson]:
    observations = []
    if reading.has_blood_pressure:
        bp = _observation(session_id, patient_id, reading, MEASURE_BP, codeable_concept(BP_PANEL))
        bp["component"] = [
            {"code": codeable_concept(BP_SYSTOLIC), "valueQuantity": _value(reading.systolic_mmhg, BP_SYSTOLIC)},
            {"code": codeable_concept(BP_DIASTOLIC), "valueQuantity": _value(reading.diastolic_mmhg, BP_DIASTOLIC)},
        ]
        observations.append(bp)
    if reading.heart_rate_per_min is not None:
        hr = _observation(session_id, patient_id, reading, MEASURE_HEART_RATE, codeable_concept(HEART_RATE))
        hr["valueQuantity"] = _value(reading.heart_rate_per_min, HEART_RATE)
        observations.append(hr)
    if reading.spo2_percent is not None:
        spo2_code = {"coding": [coding(SPO2), coding(SPO2_ARTERIAL)]}
        spo2 = _observation(session_id, patient_id, reading, MEASURE_SPO2, spo2_code)
        spo2["valueQuantity"] = _value(reading.spo2_percent, SPO2)
        observations.append(spo2)
    if reading.respiratory_rate_per_min is not None:
        rr = _observation(session_id, patient_id, reading, MEASURE_RESPIRATORY_RATE, codeable_concept(RESPIRATORY_RATE))
        rr["valueQuantity"] = _value(reading.respiratory_rate_per_min, RESPIRATORY_RATE)
        observations.append(rr)
    return [validate_resource(observation) for observation in observations]


def _observation(session_id: str, patient_id: str, reading: VitalsReading, measure: str, code: FhirJson) -> FhirJson:
    return {
        "resourceType": "Observation",
        "identifier": [
            identifier(references.VITAL_SIGN_KIND, references.child_value(session_id, reading.reading_id, measure))
        ],
        "status": "final",
        "category": [codeable_concept(VITAL_SIGNS_CATEGORY)],
        "code": code,
        "subject": references.patient(patient_id),
        "encounter": references.encounter(session_id),
        "effectiveDateTime": instant(reading.measured_at),
        "performer": [references.person(reading.recorded_by)],
    }


def _value(value: float | int | None, code: Code) -> FhirJson:
    return quantity(value, code.unit or "")  # type: ignore[arg-type]  # callers pass measured values only
