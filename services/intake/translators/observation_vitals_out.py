"""BaselineVitals → US Core vital-sign Observations (one per Ketalink-recorded reading).

Readings that came from the EHR (they carry the EHR Observation id) are not sent back: the EHR has them.
"""
from __future__ import annotations

from services.intake.domain.vitals import BaselineVitals, VitalReading
from services.intake.translators.codes import OBSERVATION_KIND
from services.intake.translators.common import FhirJson
from shared.fhir.codes import BODY_HEIGHT, BODY_WEIGHT, HEART_RATE, RESPIRATORY_RATE, SPO2, SPO2_ARTERIAL, Code
from shared.fhir.datatypes import identifier
from shared.fhir.validate import validate_resource
from shared.fhir.vital_signs import blood_pressure_observation, vital_sign_observation, vital_sign_quantity

# measure field → (identifier suffix, codes: the first names the sign and gives its unit)
READINGS: tuple[tuple[str, str, tuple[Code, ...]], ...] = (
    ("heart_rate_per_min", "heart-rate", (HEART_RATE,)),
    ("spo2_pct", "spo2", (SPO2, SPO2_ARTERIAL)),
    ("respiratory_rate_per_min", "respiratory-rate", (RESPIRATORY_RATE,)),
    ("weight_kg", "body-weight", (BODY_WEIGHT,)),
    ("height_cm", "body-height", (BODY_HEIGHT,)),
)


def observation_identifier_value(intake_id: str, measure: str) -> str:
    return f"{intake_id}-{measure}"


def vital_sign_observations(vitals: BaselineVitals, patient_id: str, intake_id: str) -> list[FhirJson]:
    observations = []
    bp = vitals.blood_pressure
    if bp is not None and bp.ehr_observation_id is None:
        observations.append(validate_resource(blood_pressure_observation(
            _identifier(intake_id, "blood-pressure"), patient_id, bp.measured_at, bp.systolic_mmhg, bp.diastolic_mmhg)))
    for field, measure, codes in READINGS:
        reading: VitalReading | None = getattr(vitals, field)
        if reading is not None and reading.ehr_observation_id is None:
            resource = vital_sign_observation(codes, _identifier(intake_id, measure), patient_id, reading.measured_at)
            resource["valueQuantity"] = vital_sign_quantity(reading.value, codes[0])
            observations.append(validate_resource(resource))
    return observations


def _identifier(intake_id: str, measure: str) -> FhirJson:
    return identifier(OBSERVATION_KIND, observation_identifier_value(intake_id, measure))
