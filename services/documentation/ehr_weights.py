"""Body weight from the EHR's FHIR API, read at the pre-infusion check so the check compares the dose's weight with
the patient's weight today (LOINC 29463-7, in kg or [lb_av])."""
from __future__ import annotations

from shared.fhir.client import FhirClient, FhirNotFound
from shared.fhir.codes import BODY_WEIGHT
from shared.fhir.datatypes import FhirJson, reference_id
from shared.fhir.vital_signs import TO_KG, USABLE_STATUSES


class WeightUnavailable(Exception):
    """The EHR has no usable body weight for the patient (none recorded, or in a unit this service cannot read)."""


class EhrWeights:
    def __init__(self, client: FhirClient):
        self._client = client

    def latest_kg(self, patient_id: str) -> float:
        """The most recent body weight; FhirUnavailable when the EHR does not answer (the caller says 503)."""
        found = self._client.search_first_page("Observation", {
            "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
            "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1})
        if not found:
            raise WeightUnavailable(f"the EHR has no body weight (LOINC {BODY_WEIGHT.code}) for patient {patient_id}")
        return weight_kg(found[0])

    def observation_kg(self, reference: str) -> float | None:
        """The weight in a literal ``Observation/{id}`` reference (the one the order's dose came from); None when
        the EHR no longer has it, so the caller falls back to the order's own dosing weight."""
        observation_id = reference_id({"reference": reference}, "Observation")
        if not observation_id:
            return None
        try:
            return weight_kg(self._client.read("Observation", observation_id))
        except FhirNotFound:
            return None


def weight_kg(observation: FhirJson) -> float:
    quantity = observation.get("valueQuantity") or {}
    unit = quantity.get("code") or quantity.get("unit")
    if quantity.get("value") is None or unit not in TO_KG:
        raise WeightUnavailable(f"body weight Observation {observation.get('id', '')} has no value in kg or [lb_av]")
    return round(TO_KG[unit](float(quantity["value"])), 2)
