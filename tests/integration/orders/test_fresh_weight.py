"""HZ-84: a weight stored in the EHR right after a dose preview is the one the next preview doses from, against the
real orders service and EHR (the sandbox here; HAPI FHIR with ``make test-hapi``, which reuses a search's result
for 60 s unless the search asks for a fresh answer, ``Cache-Control: no-cache`` in shared/fhir/client.py)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.fhir.codes import BODY_WEIGHT, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, instant, quantity

pytestmark = pytest.mark.integration


def _new_patient(ehr) -> tuple[str, str]:
    """A patient of this test alone: no other test's weight is in the way."""
    mrn = f"KL-W-{uuid.uuid4().hex[:8]}"
    patient, _ = ehr.client.create_if_none_exist({
        "resourceType": "Patient", "identifier": [{"system": MRN_SYSTEM, "value": mrn}], "active": True,
        "name": [{"family": "Weight", "given": ["Fresh"]}], "gender": "female", "birthDate": "1984-03-03",
    }, f"identifier={MRN_SYSTEM}|{mrn}")
    return patient["id"], mrn


def _weigh(ehr, patient_id: str, mrn: str, weight_kg: float, ago: timedelta) -> str:
    value = f"{mrn}-weight-{uuid.uuid4().hex[:6]}"
    observation, created = ehr.client.create_if_none_exist({
        "resourceType": "Observation", "identifier": [{"system": MRN_SYSTEM, "value": value}], "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [coding(BODY_WEIGHT)]}, "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": instant(datetime.now(timezone.utc) - ago), "valueQuantity": quantity(weight_kg, "kg"),
    }, f"identifier={MRN_SYSTEM}|{value}")
    assert created
    return observation["id"]


def _preview_weight(orders_url: str, patient_id: str) -> tuple[dict, float]:
    answer = requests.post(f"{orders_url}/dose-preview", json={"patient_id": patient_id}, timeout=15)
    assert answer.status_code == 200, answer.text
    calculation = answer.json()["calculation"]
    return calculation["weight"], calculation["dose_mg"]


def test_a_weight_stored_right_after_a_preview_is_the_one_the_next_preview_uses(orders_url, ehr):
    patient_id, mrn = _new_patient(ehr)
    yesterday = _weigh(ehr, patient_id, mrn, 70.0, timedelta(days=1))
    weight, dose_mg = _preview_weight(orders_url, patient_id)
    assert (weight["observation_id"], weight["value_kg"], dose_mg) == (yesterday, 70.0, 35.0)

    today = _weigh(ehr, patient_id, mrn, 80.0, timedelta(minutes=5))  # seconds later: a cached search would miss it
    weight, dose_mg = _preview_weight(orders_url, patient_id)
    assert (weight["observation_id"], weight["value_kg"], dose_mg) == (today, 80.0, 40.0)
