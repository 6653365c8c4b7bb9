"""Body height Observation (LOINC 8302-2, cm or [in_i]) from the EHR → BodyHeight in cm (for ideal body weight)."""
from __future__ import annotations

from typing import Any

from shared.fhir.codes import BODY_HEIGHT
from shared.fhir.vital_signs import TO_CM
from services.orders.domain.measurements import BodyHeight
from services.orders.translators.observation_measure import read_measure


def body_height_from_observation(observation: dict[str, Any]) -> BodyHeight:
    """Raises FhirMappingError for another code, a non-final status, another unit or a missing time."""
    value_cm, measured_at, observation_id = read_measure(observation, BODY_HEIGHT, TO_CM)
    return BodyHeight(value_cm, measured_at, observation_id)
