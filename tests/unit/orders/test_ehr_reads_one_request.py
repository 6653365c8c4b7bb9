"""The dose's EHR facts in one request where the EHR allows it (issue 19): the latest usable weight with its Patient
included (``_include=Observation:subject``), over a real socket (tests/unit/shared/recording_server.py), and the
Patient read on its own whenever that search did not bring this very patient. The weight is searched fresh each
time (``no-cache``), never reused."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.fhir.client import FhirClient
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import WeightBasis
from services.orders.ehr_reads import UnknownPatientError, read_patient_facts
from tests.unit.shared.recording_server import recording_server

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}
WEIGHT = {"resourceType": "Observation", "id": "w1", "status": "final",
          "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
          "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-12-06T10:00:00+00:00",
          "valueQuantity": {"value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}
NOT_FOUND = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
INVALID = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                                                          "diagnostics": "unknown parameter _include"}]}


def _searchset(*entries: tuple[dict, str]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": resource, "search": {"mode": mode}} for resource, mode in entries]}


def _served(answers):
    with recording_server(answers) as ehr:
        facts = read_patient_facts(FhirClient(ehr.base_url, retries=0), "p1", WeightBasis.ACTUAL)
    return facts, [(r.method, urlsplit(r.path).path, parse_qs(urlsplit(r.path).query), r.headers) for r in ehr.requests]


def test_weight_and_patient_come_in_one_fresh_search():
    facts, requests = _served(lambda method, path: (200, _searchset((WEIGHT, "match"), (PATIENT, "include"))))
    assert facts.sex is Sex.FEMALE and facts.weight is not None and facts.weight.value_kg == 72.5
    assert facts.weight.observation_id == "w1"
    [(method, path, query, headers)] = requests
    assert (method, path) == ("GET", "/fhir/Observation")
    assert query["_include"] == ["Observation:subject"] and query["subject"] == ["Patient/p1"]
    assert query["_sort"] == ["-date"] and query["_count"] == ["1"]
    assert query["status"] == ["final,amended,corrected"]
    assert headers["Cache-Control"] == "no-cache"  # HZ-84: never a reused search result


@pytest.mark.parametrize("included", [(), ({**PATIENT, "id": "p2"},), ({"resourceType": "Group", "id": "p1"},)],
                         ids=["none included", "another patient", "not a Patient"])
def test_without_this_patient_included_the_patient_is_read(included):
    def answers(method: str, path: str):
        if path.startswith("/fhir/Patient/p1"):
            return 200, PATIENT
        return 200, _searchset((WEIGHT, "match"), *((resource, "include") for resource in included))

    facts, requests = _served(answers)
    assert facts.sex is Sex.FEMALE and facts.weight is not None and facts.weight.value_kg == 72.5
    assert [(method, path) for method, path, _, _ in requests] == [("GET", "/fhir/Observation"),
                                                                  ("GET", "/fhir/Patient/p1")]


def test_no_weight_recorded_reads_the_patient_and_gives_no_weight():
    def answers(method: str, path: str):
        return (200, PATIENT) if path.startswith("/fhir/Patient/p1") else (200, _searchset())

    facts, requests = _served(answers)
    assert facts.weight is None and facts.sex is Sex.FEMALE
    assert len(requests) == 2


def test_an_unknown_patient_is_unknown_as_before():
    def answers(method: str, path: str):
        return (404, NOT_FOUND) if path.startswith("/fhir/Patient/p1") else (200, _searchset())

    with pytest.raises(UnknownPatientError):
        _served(answers)


def test_an_ehr_that_refuses_include_gets_the_two_requests_of_before():
    def answers(method: str, path: str):
        if path.startswith("/fhir/Patient/p1"):
            return 200, PATIENT
        return (400, INVALID) if "_include" in path else (200, _searchset((WEIGHT, "match")))

    facts, requests = _served(answers)
    assert facts.weight is not None and facts.weight.value_kg == 72.5 and facts.sex is Sex.FEMALE
    assert [("_include" in query, path) for _, path, query, _ in requests] == [
        (True, "/fhir/Observation"), (False, "/fhir/Observation"), (False, "/fhir/Patient/p1")]
