"""The EHR sandbox (HAPI FHIR with ``make test-hapi``) answers the dose's one request, the latest usable weight with
its Patient included, with this patient and this weight; read_patient_facts over the service's own kind of client
gives the same facts as the two separate reads it replaced (issue 19), and a weight stored since is the next one."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.fhir.codes import BODY_WEIGHT
from shared.fhir.vital_signs import USABLE_STATUSES
from services.orders.domain.measurements import Sex
from services.orders.domain.settings import WeightBasis
from services.orders.ehr_reads import latest_observation, read_patient_facts
from tests.integration.orders.test_fresh_weight import _new_patient, _weigh

pytestmark = pytest.mark.integration


def test_the_weight_search_includes_this_patient_and_reads_as_the_two_reads_did(ehr):
    patient_id, mrn = _new_patient(ehr)
    _weigh(ehr, patient_id, mrn, 70.0, timedelta(days=2))
    newest = _weigh(ehr, patient_id, mrn, 71.5, timedelta(hours=3))
    matches, included = ehr.client.search_first_page_with_included("Observation", {
        "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
        "status": ",".join(USABLE_STATUSES), "_sort": "-date", "_count": 1, "_include": "Observation:subject"})
    assert [m["id"] for m in matches] == [newest]
    assert [(r["resourceType"], r["id"]) for r in included] == [("Patient", patient_id)]

    facts = read_patient_facts(ehr.client, patient_id, WeightBasis.ACTUAL)
    assert facts.sex is Sex.FEMALE and facts.weight is not None
    assert (facts.weight.value_kg, facts.weight.observation_id) == (71.5, newest)
    assert latest_observation(ehr.client, patient_id, BODY_WEIGHT)["id"] == newest  # the separate search agrees
    assert ehr.client.read("Patient", patient_id)["gender"] == "female"

    stored_since = _weigh(ehr, patient_id, mrn, 69.0, timedelta(minutes=1))
    again = read_patient_facts(ehr.client, patient_id, WeightBasis.ACTUAL)
    assert again.weight is not None and (again.weight.value_kg, again.weight.observation_id) == (69.0, stored_since)
