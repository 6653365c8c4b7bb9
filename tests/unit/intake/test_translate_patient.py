from datetime import date

import pytest

from services.intake.domain.patient import AdministrativeSex, PatientSummary
from shared.errors import FhirMappingError
from services.intake.translators.patient_in import patient_summary_from_fhir
from shared.fhir.validate import FhirValidationError

AS_OF = date(2026, 3, 2)
PATIENT = {
    "resourceType": "Patient",
    "id": "pat-123",
    "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}],
    "name": [
        {"use": "old", "family": "Maiden", "given": ["Ada"]},
        {"use": "official", "family": "Example", "given": ["Ada", "B."]},
    ],
    "gender": "female",
    "birthDate": "1981-03-03",
    "address": [{"city": "Springfield"}],
}


def test_summary_keeps_only_id_age_sex_and_display_name():
    assert patient_summary_from_fhir(PATIENT, AS_OF) == PatientSummary(
        "pat-123", 44, AdministrativeSex.FEMALE, "Ada B. Example")


def test_name_text_is_preferred_and_a_missing_name_gives_none():
    with_text = {**PATIENT, "name": [{"use": "usual", "text": "Ada Example", "family": "X"}]}
    assert patient_summary_from_fhir(with_text, AS_OF).display_name == "Ada Example"
    assert patient_summary_from_fhir({**PATIENT, "name": []}, AS_OF).display_name is None


def test_year_only_birth_date_and_missing_gender():
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "2008"}
    summary = patient_summary_from_fhir(patient, date(2026, 6, 1))
    assert summary.age_years == 17 and summary.sex is AdministrativeSex.UNKNOWN


def test_missing_id_and_bad_gender_are_named():
    with pytest.raises(FhirMappingError) as error:
        patient_summary_from_fhir({k: v for k, v in PATIENT.items() if k != "id"}, AS_OF)
    assert error.value.field == "Patient.id"
    with pytest.raises(FhirMappingError) as error:
        patient_summary_from_fhir({**PATIENT, "gender": "fluid"}, AS_OF)
    assert error.value.field == "Patient.gender"


def test_structure_is_validated_first_and_type_checked():
    with pytest.raises(FhirValidationError):
        patient_summary_from_fhir({**PATIENT, "shoeSize": 42}, AS_OF)
    with pytest.raises(FhirMappingError) as error:
        patient_summary_from_fhir({"resourceType": "Practitioner", "id": "x"}, AS_OF)
    assert error.value.field == "resourceType"
