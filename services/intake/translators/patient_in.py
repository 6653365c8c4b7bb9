"""FHIR Patient → PHI-minimal PatientSummary (id, age on a given day, administrative sex, display name)."""
from __future__ import annotations

from datetime import date

from services.intake.domain.patient import AdministrativeSex, PatientSummary, age_in_years
from services.intake.translators.common import FhirJson, partial_date, validated
from shared.errors import FhirMappingError

_NAME_USE_PREFERENCE = ("official", "usual", None)


def patient_summary_from_fhir(patient: FhirJson, as_of: date) -> PatientSummary:
    """The summary, with age in whole years on ``as_of``; the birth date itself is not kept."""
    validated(patient, "Patient")
    patient_id = patient.get("id")
    if not patient_id:
        raise FhirMappingError("Patient.id", "the EHR Patient id is required")
    birth_date = patient.get("birthDate")
    age_years = age_in_years(*partial_date(str(birth_date)), as_of=as_of) if birth_date else None
    return PatientSummary(
        ehr_patient_id=patient_id,
        age_years=age_years,
        sex=_sex(patient.get("gender")),
        display_name=_display_name(patient.get("name") or []),
    )


def _display_name(names: list[FhirJson]) -> str | None:
    usable = [n for n in names if n.get("use") not in ("old", "anonymous")]
    for use in _NAME_USE_PREFERENCE:
        for name in usable:
            if name.get("use") == use or use is None:
                text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
                if text:
                    return text
    return None


def _sex(gender: str | None) -> AdministrativeSex:
    try:
        return AdministrativeSex(gender or "unknown")
    except ValueError:
        raise FhirMappingError("Patient.gender", f"{gender!r} is not an administrative gender") from None
