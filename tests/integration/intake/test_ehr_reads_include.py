"""The intake's EHR reads against the real sandbox (HAPI FHIR with ``make test-hapi``), through the service's own
kind of client (its ``system/*.rs`` token): the Patient comes included with the latest weight, four requests instead
of five (issue 19), and the record is the one the separate reads give; without a weight, for an unknown patient and
for an EHR that refuses ``_include`` the Patient is read on its own, as before; a weight stored since is the next
one read (never remembered across calls)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import requests

from services.intake.ehr_reads import EhrNotFound, EhrReader
from services.intake.translators.patient_in import patient_summary_from_fhir
from shared.fhir.client import FhirClient, FhirInvalid
from tests.integration.orders.test_fresh_weight import _new_patient, _weigh
from tests.support.backend_auth import service_tokens
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration


class CountingClient(FhirClient):
    """The real client, noting each request it made (method, path)."""

    def __init__(self, base_url: str):
        super().__init__(base_url, tokens=service_tokens("intake", base_url))
        self.made: list[tuple[str, str]] = []

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        self.made.append((method, path))
        return super()._request(method, path, **kwargs)


class RefusingInclude(CountingClient):
    """An EHR that answers ``_include`` with 400 (the sandbox never does): the only stand-in in this file."""

    def search_first_page_with_included(self, resource_type: str, params: dict[str, Any]):
        raise FhirInvalid(400, ["_include is not supported"])


def test_a_weighed_patient_is_read_in_four_requests_and_reads_as_the_separate_reads(ehr):
    patient_id, mrn = _new_patient(ehr)
    _weigh(ehr, patient_id, mrn, 70.0, timedelta(days=3))
    newest = _weigh(ehr, patient_id, mrn, 71.5, timedelta(hours=3))
    client = CountingClient(ehr.base_url)
    record = EhrReader(client).patient_record(patient_id, clinic_today())
    assert len(client.made) == 4, client.made
    assert record.patient == patient_summary_from_fhir(ehr.client.read("Patient", patient_id), clinic_today())
    assert record.patient.display_name == "Fresh Weight" and record.patient.ehr_patient_id == patient_id
    assert record.vitals.weight_kg is not None
    assert (record.vitals.weight_kg.value, record.vitals.weight_kg.ehr_observation_id) == (71.5, newest)
    assert record.vitals.height_cm is None and record.conditions == () and record.medications == ()

    stored_since = _weigh(ehr, patient_id, mrn, 69.0, timedelta(minutes=1))
    again = EhrReader(client).patient_record(patient_id, clinic_today())
    assert again.vitals.weight_kg is not None
    assert (again.vitals.weight_kg.value, again.vitals.weight_kg.ehr_observation_id) == (69.0, stored_since)


def test_a_patient_without_a_weight_is_read_on_its_own(ehr):
    patient_id, _mrn = _new_patient(ehr)
    client = CountingClient(ehr.base_url)
    record = EhrReader(client).patient_record(patient_id, clinic_today())
    assert len(client.made) == 5, client.made
    assert record.patient.ehr_patient_id == patient_id and record.patient.age_years is not None
    assert record.vitals.weight_kg is None


def test_an_unknown_patient_is_named_as_before(ehr):
    with pytest.raises(EhrNotFound) as error:
        EhrReader(CountingClient(ehr.base_url)).patient_record("no-such-patient", date(2026, 1, 1),
                                                              "ServiceRequest.subject")
    assert error.value.field == "ServiceRequest.subject"
    assert error.value.reference == "Patient/no-such-patient"


def test_an_ehr_that_refuses_include_is_read_as_before(ehr):
    patient_id, mrn = _new_patient(ehr)
    newest = _weigh(ehr, patient_id, mrn, 80.0, timedelta(hours=1))
    client = RefusingInclude(ehr.base_url)
    record = EhrReader(client).patient_record(patient_id, clinic_today())
    assert len(client.made) == 5, client.made
    assert record.patient.ehr_patient_id == patient_id
    assert record.vitals.weight_kg is not None and record.vitals.weight_kg.ehr_observation_id == newest
