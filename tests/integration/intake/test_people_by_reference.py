"""Who is recorded on an intake is the signed-in clinician, by reference, whatever the body names: the intake app as
``bootstrap.build`` wires it, SMART on, the clinician a real Practitioner in the EHR sandbox (``shared/people.py``,
``shared.roles.acting_person``). Deciding, overriding and reopening: ``test_prescriber_decides.py``."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.intake.bootstrap import build
from shared.ui.clinician import fhir_user_reference
from tests.support.practitioners import registered_nurse
from tests.support.smart_sessions import signed_in
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
SCOPES = "launch openid fhirUser patient/*.cruds"
FHIR_JSON = {"Accept": "application/fhir+json"}
SOMEONE_ELSE = "Dr. Somebody Else"


@pytest.fixture
def intake_app(tmp_path, monkeypatch, ehr) -> Iterator[tuple[Flask, str]]:
    patient = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1002"})[0]["id"]
    runtime = smart_service_runtime("intake", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    yield app, patient
    runtime.engine.dispose()


def test_starting_screening_and_rating_record_the_signed_in_clinician_whatever_the_body_names(intake_app, ehr):
    app, patient = intake_app
    nurse = registered_nurse(ehr.client)
    client = signed_in(app, patient, fhir_user=nurse.fhir_user, scope=SCOPES, cookie="people-nurse")
    expected = {"reference": fhir_user_reference(nurse.fhir_user), "display": nurse.name}

    created = client.post("/intakes", json={"patient_id": patient, "started_by": SOMEONE_ELSE}, headers=FHIR_JSON)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["started_by"] == expected
    intake_id = created.get_json()["intake_id"]
    rated = client.put(f"/intakes/{intake_id}/madrs", json={"items": [3] * 10, "rated_by": SOMEONE_ELSE},
                       headers=FHIR_JSON)
    assert rated.status_code == 200, rated.get_data(as_text=True)
    assert rated.get_json()["madrs"]["rated_by"] == expected
    for_another = client.put(f"/intakes/{intake_id}/madrs", json={
        "items": [3] * 10, "on_behalf_of": "Practitioner/someone-else"}, headers=FHIR_JSON)
    assert for_another.status_code == 403  # a clinician's session acts for that clinician only
