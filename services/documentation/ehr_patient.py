"""The patient's administrative sex and birth date from the EHR's FHIR API, read with the service's own access (as
the weights are, ``ehr_weights.py``) at the pre-infusion check: whether the pregnancy check may be "not applicable"
(issue 13 defect 18) depends on the record on the day, never on what is typed. Nothing else of the Patient is kept,
and the birth date is never logged or stored (only the age in years the rule used)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.fhir.client import FhirClient


@dataclass(frozen=True)
class PatientRecord:
    sex: str | None  # FHIR administrative-gender, None when not recorded
    birth_date: str | None  # FHIR date (YYYY, YYYY-MM or YYYY-MM-DD), None when not recorded


class EhrPatients:
    def __init__(self, client: FhirClient):
        self._client = client

    def record(self, patient_id: str) -> PatientRecord:
        """FhirError (FhirNotFound, FhirUnavailable …) when the EHR cannot give the Patient: the caller fails safe."""
        patient = self._client.read("Patient", patient_id)
        sex, birth_date = patient.get("gender"), patient.get("birthDate")
        return PatientRecord(sex if isinstance(sex, str) else None,
                             birth_date if isinstance(birth_date, str) else None)
