"""Patient from the EHR → the patient's sex, which the Devine ideal-body-weight formula needs."""
from __future__ import annotations

from typing import Any

from shared.errors import FhirMappingError
from shared.fhir.reading import validated
from services.orders.domain.measurements import Sex


def patient_sex(patient: dict[str, Any]) -> Sex:
    """``Patient.gender`` as Sex; absent → Sex.UNKNOWN (the dose code then refuses ideal/adjusted weight)."""
    patient = validated(patient, "Patient")
    gender = patient.get("gender")
    if gender is None:
        return Sex.UNKNOWN
    try:
        return Sex(gender)
    except ValueError:
        raise FhirMappingError("Patient.gender", f"{gender!r} is not an administrative gender code") from None
