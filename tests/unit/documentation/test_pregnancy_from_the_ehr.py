"""Issue 13 defect 18: the service reads the patient's sex and birth date from the EHR (its own access, as the
weights) and fails safe — a Patient the EHR cannot give keeps the pregnancy check applicable."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from shared.clock import ClinicalClock
from services.documentation.ehr_reads import EhrPatients
from services.documentation.handlers import DocumentationService
from shared.fhir.client import FhirError, FhirNotFound, FhirUnavailable

from .builders import CLINIC_TZ, SETTINGS, at


class FakeEhr:
    def __init__(self, patient: dict | None = None, error: FhirError | None = None):
        self.patient, self.error, self.reads = patient, error, []

    def read(self, resource_type: str, resource_id: str) -> dict:
        self.reads.append(f"{resource_type}/{resource_id}")
        if self.error is not None:
            raise self.error
        return self.patient or {}


def service(ehr: FakeEhr) -> DocumentationService:
    return DocumentationService(SimpleNamespace(ehr=ehr), SETTINGS, ClinicalClock(timedelta(seconds=120)),
                                weights=None,  # type: ignore[arg-type]
                                clinic_zone=CLINIC_TZ, patients=EhrPatients(ehr))


def test_a_male_adult_in_the_ehr_rules_pregnancy_out():
    ehr = FakeEhr({"resourceType": "Patient", "id": "pat-42", "gender": "male", "birthDate": "1980-05-01"})
    applicability = service(ehr).pregnancy_for("pat-42", at(9, 5))
    assert ehr.reads == ["Patient/pat-42"]
    assert not applicability.applicable and applicability.basis == "EHR record: sex male, age 45"


def test_the_age_is_taken_on_the_clinic_day():
    """23:30 UTC on 1 March is 00:30 on 2 March in the clinic (UTC+01:00): born 2 March 1970, she is 56 there
    (outside 10-55), though still 55 on the UTC day."""
    ehr = FakeEhr({"resourceType": "Patient", "gender": "female", "birthDate": "1970-03-02"})
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)
    applicability = service(ehr).pregnancy_for("p", moment)
    assert not applicability.applicable and applicability.basis == "EHR record: sex female, age 56"


@pytest.mark.parametrize("error", [FhirUnavailable(503, ["down"]), FhirNotFound(404, ["gone"]), FhirError(403, [])])
def test_an_unreadable_ehr_record_keeps_the_pregnancy_check_applicable(error):
    applicability = service(FakeEhr(error=error)).pregnancy_for("pat-42", at(9, 5))
    assert applicability.applicable and "could not be read" in applicability.basis


def test_a_record_without_sex_or_birth_date_keeps_the_check_applicable():
    applicability = service(FakeEhr({"resourceType": "Patient"})).pregnancy_for("p", at(9, 5))
    assert applicability.applicable and applicability.basis == "EHR record: sex not recorded, no birth date"
