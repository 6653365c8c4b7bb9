"""Vitals reading → US Core vital-sign Observations: one BP panel (systolic and diastolic components, mm[Hg]),
heart rate, SpO2 (59408-5 with 2708-6), respiratory rate and the RASS (a survey Observation, local code), each
present only when measured, each with the
session's Encounter and who took the reading."""

from __future__ import annotations

from services.documentation.domain.vitals import VitalsReading
from services.documentation.translators import references
from services.documentation.translators.codes import RASS
from shared.fhir.codes import HEART_RATE, RESPIRATORY_RATE, SPO2, SPO2_ARTERIAL, SURVEY_CATEGORY, Code
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant, reference
from shared.fhir.validate import validate_resource
from shared.fhir.vital_signs import blood_pressure_observation, vital_sign_observation, vital_sign_quantity

# Last part of each Observation's identifier value ``{session}/{reading}/{measure}``; observation_vitals_in reads it.
MEASURE_BP = "bp"
MEASURE_HEART_RATE = "hr"
MEASURE_SPO2 = "spo2"
MEASURE_RESPIRATORY_RATE = "rr"
MEASURE_RASS = "rass"


def vitals_observations(session_id: str, patient_id: str, reading: VitalsReading) -> list[FhirJson]:
    observations = []
    if reading.has_blood_pressure:
        observations.append(blood_pressure_observation(
            _identifier(session_id, reading, MEASURE_BP), patient_id, reading.measured_at,
            reading.systolic_mmhg, reading.diastolic_mmhg))
    measures: tuple[tuple[str, tuple[Code, ...], float | int | None], ...] = (
        (MEASURE_HEART_RATE, (HEART_RATE,), reading.heart_rate_per_min),
        (MEASURE_SPO2, (SPO2, SPO2_ARTERIAL), reading.spo2_percent),
        (MEASURE_RESPIRATORY_RATE, (RESPIRATORY_RATE,), reading.respiratory_rate_per_min),
    )
    for measure, codes, value in measures:
        if value is not None:
            observation = vital_sign_observation(codes, _identifier(session_id, reading, measure), patient_id,
                                                 reading.measured_at)
            observation["valueQuantity"] = vital_sign_quantity(value, codes[0])
            observations.append(observation)
    if reading.rass_score is not None:
        observations.append(_rass_observation(session_id, patient_id, reading))
    for observation in observations:
        observation["encounter"] = references.encounter(session_id)
        observation["performer"] = [references.person(reading.recorded_by)]
    return [validate_resource(observation) for observation in observations]


def _rass_observation(session_id: str, patient_id: str, reading: VitalsReading) -> FhirJson:
    """The RASS score (issue 13 defect 8): a survey Observation with the local RASS code and an integer value."""
    return {
        "resourceType": "Observation",
        "identifier": [_identifier(session_id, reading, MEASURE_RASS)],
        "status": "final",
        "category": [codeable_concept(SURVEY_CATEGORY)],
        "code": codeable_concept(RASS),
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(reading.measured_at),
        "valueInteger": reading.rass_score,
    }


def _identifier(session_id: str, reading: VitalsReading, measure: str) -> FhirJson:
    return identifier(references.VITAL_SIGN_KIND, references.child_value(session_id, reading.reading_id, measure))
