from datetime import date

import pytest

from services.intake.domain.conditions import ConditionRecord, trd_condition_record
from services.intake.translators.condition_in import condition_from_fhir
from services.intake.translators.condition_out import condition_to_fhir
from shared.errors import FhirMappingError
from shared.fhir.codes import CONDITION_CLINICAL, CONDITION_VERIFICATION, KETALINK_LOCAL, SNOMED, Code

EHR_MDD = {
    "resourceType": "Condition",
    "id": "cond-9",
    "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
    "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"},
                        {"system": SNOMED, "code": "370143000", "display": "Major depressive disorder"}],
             "text": "Recurrent severe MDD"},
    "subject": {"reference": "Patient/pat-123"},
    "recordedDate": "2024-05-10T10:00:00Z",
}


def test_ehr_condition_keeps_every_coding_and_statuses():
    record = condition_from_fhir(EHR_MDD)
    assert record.codings == (Code("http://hl7.org/fhir/sid/icd-10-cm", "F33.2", ""),
                              Code(SNOMED, "370143000", "Major depressive disorder"))
    assert record.has_code(f"{SNOMED}|370143000") and record.is_active
    assert (record.text, record.recorded_on, record.ehr_condition_id) == ("Recurrent severe MDD", date(2024, 5, 10),
                                                                          "cond-9")


def test_refuted_or_partial_dated_condition():
    refuted = {**EHR_MDD, "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "refuted"}]},
               "recordedDate": "2024-05"}
    record = condition_from_fhir(refuted)
    assert not record.is_active and record.recorded_on is None


def test_condition_without_code_is_refused():
    with pytest.raises(FhirMappingError) as error:
        condition_from_fhir({k: v for k, v in EHR_MDD.items() if k != "code"})
    assert error.value.field == "Condition.code"


def test_trd_condition_out_uses_the_local_code_and_a_stable_identifier():
    resource = condition_to_fhir(trd_condition_record(date(2026, 3, 2)), "pat-123", "intake-0001")
    assert resource["code"]["coding"] == [{"system": KETALINK_LOCAL, "code": "trd",
                                           "display": "Treatment-resistant depression"}]
    assert resource["identifier"] == [{"system": "https://ketalink.example.org/fhir/identifier/intake-condition",
                                       "value": "intake-0001-trd"}]
    assert resource["subject"] == {"reference": "Patient/pat-123"}
    assert resource["clinicalStatus"]["coding"][0]["code"] == "active"
    assert resource["recordedDate"] == "2026-03-02"


@pytest.mark.parametrize("record", [
    trd_condition_record(date(2026, 3, 2)),
    ConditionRecord((Code(SNOMED, "370143000", "Major depressive disorder"), Code("urn:x", "F33", "")),
                    "MDD", "recurrence", "provisional", date(2025, 1, 1)),
])
def test_round_trip(record):
    assert condition_from_fhir(condition_to_fhir(record, "pat-123", "intake-0001")) == record
