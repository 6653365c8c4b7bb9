from datetime import date

import pytest

from services.intake.domain.medications import MedicationEntry
from shared.errors import FhirMappingError
from services.intake.translators.medication_statement_in import medication_entry_from_fhir
from shared.fhir.codes import RXNORM

STATEMENT = {
    "resourceType": "MedicationStatement",
    "id": "ms-1",
    "status": "completed",
    "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "312941",
                                              "display": "sertraline 100 MG Oral Tablet"}]},
    "subject": {"reference": "Patient/pat-123"},
    "effectivePeriod": {"start": "2025-06-02", "end": "2025-08-11"},
    "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg"}}]}],
}


def test_statement_becomes_an_entry_with_period_and_dose():
    entry = medication_entry_from_fhir(STATEMENT)
    assert entry == MedicationEntry("sertraline 100 MG Oral Tablet", "completed", "312941", "100 mg",
                                    date(2025, 6, 2), date(2025, 8, 11), "ms-1",
                                    ("http://www.nlm.nih.gov/research/umls/rxnorm|312941",))
    assert entry.duration_weeks(date(2026, 3, 2)) == 10.0


def test_text_and_dosage_text_win_and_a_single_date_is_the_start():
    statement = {**STATEMENT, "medicationCodeableConcept": {"text": "Zoloft 100 mg"},
                 "dosage": [{"text": "100 mg every morning"}], "effectiveDateTime": "2025-06-02T08:00:00Z"}
    del statement["effectivePeriod"]
    entry = medication_entry_from_fhir(statement)
    assert (entry.drug_name, entry.dose_text, entry.started_on, entry.ended_on, entry.rxnorm_code) == (
        "Zoloft 100 mg", "100 mg every morning", date(2025, 6, 2), None, None)


def test_partial_start_is_an_unknown_start():
    entry = medication_entry_from_fhir({**STATEMENT, "effectivePeriod": {"start": "2025-06"}})
    assert entry.started_on is None and entry.duration_weeks(date(2026, 3, 2)) is None


def test_medication_reference_and_nameless_codes_are_refused():
    by_reference = {k: v for k, v in STATEMENT.items() if k != "medicationCodeableConcept"}
    by_reference["medicationReference"] = {"reference": "Medication/m-1"}
    with pytest.raises(FhirMappingError) as error:
        medication_entry_from_fhir(by_reference)
    assert error.value.field == "MedicationStatement.medicationReference"
    nameless = {**STATEMENT, "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "312941"}]}}
    with pytest.raises(FhirMappingError) as error:
        medication_entry_from_fhir(nameless)
    assert error.value.field == "MedicationStatement.medicationCodeableConcept"
