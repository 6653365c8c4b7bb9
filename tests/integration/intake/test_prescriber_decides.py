"""Only a prescriber decides eligibility, attesting it (issue 13, defect 21): the intake app as built for production
(SMART required), the clinicians' roles read from the real EHR sandbox (a registered nurse and a physician, each a
Practitioner with a PractitionerRole). A nurse is refused on the page (the error page, 403) and on the JSON API (an
OperationOutcome, 403) and nothing is decided; a prescriber without the attestation is asked for it; with it the
decision is made and keeps the attestation."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from flask import Flask

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.intake.bootstrap import build
from services.intake.domain.recording import record_cssrs
from services.intake.domain.settings import IntakeSettings
from services.intake.repository import IntakeRepository
from shared.roles import ATTESTATIONS
from shared.runtime import ServiceRuntime
from shared.ui.clinician import fhir_user_reference
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.unit.intake.builders import INTAKE_ID, eligible_intake
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
HOST = "http://localhost"
SCOPES = "launch openid fhirUser patient/*.cruds"
FHIR_JSON = {"Accept": "application/fhir+json"}


@pytest.fixture
def intake_app(tmp_path, monkeypatch, ehr) -> Iterator[tuple[Flask, ServiceRuntime, str]]:
    patient = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1002"})[0]["id"]
    runtime = smart_service_runtime("intake", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    intake = eligible_intake(patient_id=patient)  # every part recorded, not decided
    # The builder's screen is months old: a C-SSRS older than INTAKE_CSSRS_MAX_AGE_DAYS at the decision holds it.
    intake = record_cssrs(intake, {a.item: a.answer for a in intake.cssrs.answers}, datetime.now(timezone.utc),
                          IntakeSettings())
    with runtime.engine.begin() as conn:
        IntakeRepository().add(conn, intake)
    yield app, runtime, patient
    runtime.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def _decision(runtime: ServiceRuntime):
    with runtime.engine.connect() as conn:
        return IntakeRepository().get(conn, INTAKE_ID).intake.decision


def test_a_nurse_is_refused_and_a_prescriber_decides_with_the_attestation(intake_app, ehr):
    app, runtime, patient = intake_app
    nurse = signed_in(app, patient, fhir_user=registered_nurse(ehr.client).fhir_user, scope=SCOPES,
                      cookie="cookie-nurse")
    page = nurse.get(f"/ui/intakes/{INTAKE_ID}").get_data(as_text=True)
    assert ATTESTATIONS["decide-eligibility"] in page  # the statement next to the button
    refused = nurse.post(f"/ui/intakes/{INTAKE_ID}/decision",
                         data={"csrf_token": _token(page), "decision.attested": "yes"}, headers={"Origin": HOST})
    assert refused.status_code == 403
    assert "Only a prescriber may decide eligibility" in refused.get_data(as_text=True)
    assert "Registered nurse" in refused.get_data(as_text=True)
    api = nurse.post(f"/intakes/{INTAKE_ID}/decision", json={"decided_by": "Robin Nurse", "attested": True},
                     headers=FHIR_JSON)
    assert api.status_code == 403 and api.get_json()["resourceType"] == "OperationOutcome"
    assert "Only a prescriber may decide eligibility" in api.get_json()["issue"][0]["diagnostics"]
    assert _decision(runtime) is None

    doctor = prescriber(ehr.client)
    browser = signed_in(app, patient, fhir_user=doctor.fhir_user, scope=SCOPES, cookie="cookie-doctor")
    token = _token(browser.get(f"/ui/intakes/{INTAKE_ID}").get_data(as_text=True))
    unattested = browser.post(f"/ui/intakes/{INTAKE_ID}/decision", data={"csrf_token": token},
                              headers={"Origin": HOST})
    assert unattested.status_code == 400 and "tick the attestation to decide" in unattested.get_data(as_text=True)
    not_attested_api = browser.post(f"/intakes/{INTAKE_ID}/decision", json={"decided_by": doctor.name,
                                                                           "attested": False}, headers=FHIR_JSON)
    assert not_attested_api.status_code in (400, 422)
    assert "attested" in str(not_attested_api.get_json()["issue"][0].get("expression"))
    assert _decision(runtime) is None

    decided = browser.post(f"/ui/intakes/{INTAKE_ID}/decision", data={"csrf_token": token, "decision.attested": "yes"},
                           headers={"Origin": HOST})
    assert decided.status_code == 303 and decided.headers["Location"].endswith(f"/ui/intakes/{INTAKE_ID}/decision")
    decision = _decision(runtime)
    assert decision.outcome.value == "eligible" and decision.decided_by.display == doctor.name
    assert decision.decided_by.reference == fhir_user_reference(doctor.fhir_user)  # by reference
    assert decision.attestation == ATTESTATIONS["decide-eligibility"]

    # Through the JSON API too, the decider is the signed-in prescriber whatever name the body types
    reopened = browser.post(f"/intakes/{INTAKE_ID}/reopen", json={"reopened_by": doctor.name,
                                                                  "reason": "decide again through the API"},
                            headers=FHIR_JSON)
    assert reopened.status_code == 200, reopened.get_data(as_text=True)
    again = browser.post(f"/intakes/{INTAKE_ID}/decision", json={"decided_by": "Dr. Somebody Else", "attested": True},
                         headers=FHIR_JSON)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["decision"]["decided_by"] == {  # the signed-in prescriber, by reference
        "reference": fhir_user_reference(doctor.fhir_user), "display": doctor.name}
    assert _decision(runtime).attestation == ATTESTATIONS["decide-eligibility"]


def test_an_override_and_a_reopening_through_the_api_are_recorded_as_the_signed_in_clinician(intake_app, ehr):
    """Reviewer R3: the JSON API recorded the typed ``overridden_by`` and ``reopened_by`` (the reopening's
    Provenance author in the EHR) even with a clinician signed in: anyone's name could stand in the record."""
    app, runtime, patient = intake_app
    nurse = registered_nurse(ehr.client)
    client = signed_in(app, patient, fhir_user=nurse.fhir_user, scope=SCOPES, cookie="cookie-nurse-r3")
    settings = IntakeSettings()
    answers = [{"key": key, "presence": "present" if key == "uncontrolled-hypertension" else "absent"}
               for key in settings.absolute_contraindications + settings.relative_contraindications]
    screened = client.put(f"/intakes/{INTAKE_ID}/contraindications", json={"answers": answers, "screened_by": "x"},
                          headers=FHIR_JSON)
    assert screened.status_code == 200, screened.get_data(as_text=True)
    overridden = client.post(f"/intakes/{INTAKE_ID}/overrides", json={
        "target": "contraindication", "key": "uncontrolled-hypertension", "overridden_by": "Dr. Somebody Else",
        "reason": "BP controlled on review"}, headers=FHIR_JSON)
    assert overridden.status_code == 200, overridden.get_data(as_text=True)
    assert overridden.get_json()["overrides"][0]["overridden_by"] == {  # the signed-in nurse, not the typed name
        "reference": fhir_user_reference(nurse.fhir_user), "display": nurse.name}

    doctor = prescriber(ehr.client)
    browser = signed_in(app, patient, fhir_user=doctor.fhir_user, scope=SCOPES, cookie="cookie-doctor-r3")
    decided = browser.post(f"/intakes/{INTAKE_ID}/decision", json={"decided_by": doctor.name, "attested": True},
                           headers=FHIR_JSON)
    assert decided.status_code == 200, decided.get_data(as_text=True)
    reopened = client.post(f"/intakes/{INTAKE_ID}/reopen", json={"reopened_by": "Dr. Somebody Else",
                                                                 "reason": "new information"}, headers=FHIR_JSON)
    assert reopened.status_code == 200, reopened.get_data(as_text=True)
    assert reopened.get_json()["reopenings"][0]["reopened_by"] == {
        "reference": fhir_user_reference(nurse.fhir_user), "display": nurse.name}
