"""Body weight Observation (LOINC 29463-7, kg or [lb_av]) from the EHR → BodyWeight in kg."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import BODY_WEIGHT
from shared.fhir.vital_signs import TO_KG
from services.orders.domain.measurements import BodyWeight
from services.orders.translators.observation_measure import read_measure


def body_weight_from_observation(observation: dict[str, Any]) -> BodyWeight:
    """Raises FhirMappingError for another code, a non-final status, another unit or a missing time."""
    value_kg, measured_at, observation_id = read_measure(observation, BODY_WEIGHT, TO_KG)
    return BodyWeight(value_kg, measured_at, observation_id)
