"""BaselineVitals → US Core vital-sign Observations (one per Ketalink-recorded reading).

Readings that came from the EHR (they carry the EHR Observation id) are not sent back: the EHR has them.
"""
from __future__ import annotations

from services.intake.domain.vitals import BaselineVitals, BloodPressure, VitalReading
from services.intake.translators.codes import OBSERVATION_KIND, VITAL_SIGNS_CATEGORY
from services.intake.translators.common import FhirJson
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
from shared.fhir.datatypes import codeable_concept, coding, identifier, instant, quantity, reference
from shared.fhir.validate import validate_resource

# measure field → (identifier suffix, codes (first is primary), UCUM unit, unit as people read it)
_READINGS: tuple[tuple[str, str, tuple[Code, ...], str, str], ...] = (
    ("heart_rate_per_min", "heart-rate", (HEART_RATE,), "/min", "beats/minute"),
    ("spo2_pct", "spo2", (SPO2, SPO2_ARTERIAL), "%", "%"),
    ("respiratory_rate_per_min", "respiratory-rate", (RESPIRATORY_RATE,), "/min", "breaths/minute"),
    ("weight_kg", "body-weight", (BODY_WEIGHT,), "kg", "kg"),
    ("height_cm", "body-height", (BODY_HEIGHT,), "cm", "cm"),
)


def observation_identifier_value(intake_id: str, measure: str) -> str:
    return f"{intake_id}-{measure}"


def vital_sign_observations(vitals: BaselineVitals, patient_id: str, intake_id: str) -> list[FhirJson]:
    observations = []
    bp = vitals.blood_pressure
    if bp is not None and bp.ehr_observation_id is None:
        observations.append(blood_pressure_observation(bp, patient_id, intake_id))
    for field, measure, codes, unit, display_unit in _READINGS:
        reading: VitalReading | None = getattr(vitals, field)
        if reading is not None and reading.ehr_observation_id is None:
            resource = _vital_sign(measure, codes, patient_id, intake_id, reading.measured_at)
            resource["valueQuantity"] = quantity(reading.value, unit, display_unit)
            observations.append(validate_resource(resource))
    return observations


def blood_pressure_observation(bp: BloodPressure, patient_id: str, intake_id: str) -> FhirJson:
    resource = _vital_sign("blood-pressure", (BP_PANEL,), patient_id, intake_id, bp.measured_at)
    resource["component"] = [
        {"code": codeable_concept(BP_SYSTOLIC), "valueQuantity": quantity(bp.systolic_mmhg, "mm[Hg]", "mmHg")},
        {"code": codeable_concept(BP_DIASTOLIC), "valueQuantity": quantity(bp.diastolic_mmhg, "mm[Hg]", "mmHg")},
    ]
    return validate_resource(resource)


def _vital_sign(measure: str, codes: tuple[Code, ...], patient_id: str, intake_id: str, measured_at) -> FhirJson:
    return {
        "resourceType": "Observation",
        "identifier": [identifier(OBSERVATION_KIND, observation_identifier_value(intake_id, measure))],
        "status": "final",
        "category": [codeable_concept(VITAL_SIGNS_CATEGORY)],
        "code": {"coding": [coding(c) for c in codes], "text": codes[0].display},
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(measured_at),
    }
