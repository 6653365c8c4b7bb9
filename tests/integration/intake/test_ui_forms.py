"""The intake app as built for production (SMART required), driven in-process: every endpoint declares what it
needs; the pages refuse forged posts and another patient's intake, and show a refused form again with the domain's
message next to the field and nothing saved. The banner and the clinician's name are read from the real EHR sandbox
(seeded patients, a Practitioner created here); the SMART session is put straight into the store as the launch
callback would (the sandbox's FHIR API does not check the token)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.intake.bootstrap import build
from services.intake.domain.recording import record_medications, start_intake
from services.intake.domain.medications import MedicationEntry
from services.intake.repository import IntakeRepository
from shared.people import Person
from shared.runtime import ServiceRuntime
from tests.support.smart_sessions import signed_in
from tests.unit.intake.builders import T0
from tests.support.in_process import smart_service_runtime

HOST = "http://localhost"
NURSE_IDENTIFIER = "https://ehr-sandbox.example.org/fhir/identifier/staff|ui-test-nurse"

pytestmark = pytest.mark.integration


@dataclass
class UiApp:
    app: Flask
    runtime: ServiceRuntime
    iss: str
    patient: str  # KL-1002, James Okafor
    other: str  # KL-1001
    nurse: str  # the Practitioner the sessions' fhirUser names

    def add_intake(self, intake_id: str, patient_id: str) -> None:
        intake = start_intake(intake_id, patient_id, T0, started_by=Person(None, "Grace Ng, RN"))
        intake = record_medications(intake, [MedicationEntry("escitalopram", "completed", dose_text="20 mg")])
        with self.runtime.engine.begin() as conn:
            IntakeRepository().add(conn, intake)

    def browser(self, patient_id: str | None = None, scope: str = "launch openid patient/*.cruds") -> FlaskClient:
        """A client holding a SMART session cookie for ``patient_id`` (default: James Okafor), as after a launch."""
        return signed_in(self.app, patient_id or self.patient, fhir_user=f"{self.iss}/Practitioner/{self.nurse}",
                         scope=scope, iss=self.iss)


@pytest.fixture
def ui_app(tmp_path, monkeypatch, ehr) -> Iterator[UiApp]:
    system, value = NURSE_IDENTIFIER.split("|")
    nurse, _ = ehr.client.create_if_none_exist(
        {"resourceType": "Practitioner", "identifier": [{"system": system, "value": value}],
         "name": [{"text": "Grace Ng, RN", "family": "Ng", "given": ["Grace"]}]}, f"identifier={NURSE_IDENTIFIER}")
    patient, other = (ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]
                      for mrn in ("KL-1002", "KL-1001"))
    runtime = smart_service_runtime("intake", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    yield UiApp(app, runtime, ehr.base_url, patient, other, nurse["id"])
    runtime.engine.dispose()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def test_every_endpoint_declares_its_scope_and_patient(ui_app):
    smart = ui_app.app.extensions["smart"]
    assert smart.endpoints_without_requirements(ui_app.app) == []


def test_the_home_page_lists_the_patients_intakes_and_needs_a_session(ui_app):
    ui_app.add_intake("i-1", ui_app.patient)
    ui_app.add_intake("i-2", ui_app.other)
    assert ui_app.app.test_client().get("/", headers={"Accept": "text/html"}).status_code == 401
    page = ui_app.browser().get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/ui/intakes/i-1" in text and "/ui/intakes/i-2" not in text
    assert "Eligibility: not decided" in text and "James Okafor" in text


def test_another_patients_intake_is_refused(ui_app):
    ui_app.add_intake("theirs", ui_app.other)
    browser = ui_app.browser()
    page = browser.get("/ui/intakes/theirs", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "another patient" in page.get_data(as_text=True)
    assert browser.get("/ui/intakes/unknown", headers={"Accept": "text/html"}).status_code == 403


def test_a_post_without_the_form_token_or_from_another_site_is_refused(ui_app):
    ui_app.add_intake("mine", ui_app.patient)
    browser = ui_app.browser()
    token = _token(browser.get("/ui/intakes/mine").get_data(as_text=True))
    items = {f"phq9.items[{i}]": "1" for i in range(9)}
    assert browser.post("/ui/intakes/mine/phq9", data=items, headers={"Origin": HOST}).status_code == 403
    assert browser.post("/ui/intakes/mine/phq9", data={**items, "csrf_token": token},
                        headers={"Origin": "https://evil.example"}).status_code == 403
    assert browser.post("/ui/intakes/mine/phq9", data={**items, "csrf_token": "0" * 64},
                        headers={"Origin": HOST}).status_code == 403
    saved = browser.post("/ui/intakes/mine/phq9", data={**items, "csrf_token": token}, headers={"Origin": HOST})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("saved=phq9&step=madrs#madrs")  # next step
    assert "Total: 9 of 27" in browser.get("/ui/intakes/mine").get_data(as_text=True)


def test_a_refused_form_shows_the_error_next_to_the_field_and_saves_nothing(ui_app):
    ui_app.add_intake("mine", ui_app.patient)
    browser = ui_app.browser()
    token = _token(browser.get("/ui/intakes/mine").get_data(as_text=True))
    items = {f"phq9.items[{i}]": "2" for i in range(9)} | {"phq9.items[4]": "", "phq9.items[8]": "7"}
    refused = browser.post("/ui/intakes/mine/phq9", data={**items, "csrf_token": token}, headers={"Origin": HOST})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="phq9-items-4-error"' in page and "item 5 is required and missing" in page
    assert '<a href="#phq9-items-4">PHQ-9 item 5</a>' in page
    assert 'id="phq9-items-4"' in page and 'aria-invalid="true"' in page
    assert 'name="phq9.items[8]" value="7"' in page  # the form as typed
    with ui_app.runtime.engine.connect() as conn:
        assert IntakeRepository().get(conn, "mine").intake.phq9 is None


def test_trial_rows_map_domain_errors_to_the_row_typed(ui_app):
    ui_app.add_intake("mine", ui_app.patient)
    browser = ui_app.browser()
    page = browser.get("/ui/intakes/mine").get_data(as_text=True)
    assert 'name="trials[0].drug_name" value="escitalopram"' in page  # the EHR's antidepressant as a candidate
    form = {"csrf_token": _token(page), "trials[0].drug_name": "escitalopram", "trials[1].drug_name": "sertraline",
            "trials[1].include": "on", "trials[1].duration_weeks": "8", "trials[1].adequate_dose": "yes",
            "trials[1].current_episode": "yes"}  # row 0 not included; row 1 lacks its improvement
    refused = browser.post("/ui/intakes/mine/trials", data=form, headers={"Origin": HOST})
    assert refused.status_code == 400
    assert 'id="trials-1-improvement_pct-error"' in refused.get_data(as_text=True)


def test_a_decided_intake_shows_its_reasons_and_locks_its_forms(ui_app):
    from services.intake.domain.eligibility import decide_eligibility
    from services.intake.domain.settings import IntakeSettings
    from tests.unit.intake.builders import ADA, DECIDED_AT, INTAKE_ID, eligible_intake

    decided = decide_eligibility(eligible_intake(patient_id=ui_app.patient), IntakeSettings(), DECIDED_AT,
                                 ADA)
    with ui_app.runtime.engine.begin() as conn:
        IntakeRepository().add(conn, decided)
    browser = ui_app.browser()
    intake_page = browser.get(f"/ui/intakes/{INTAKE_ID}").get_data(as_text=True)
    assert intake_page.count('<fieldset class="plain" disabled>') == 8  # one per part's form (and urgent use)
    assert "Total: 15 of 27" in intake_page and "Risk: low" in intake_page
    decision = browser.get(f"/ui/intakes/{INTAKE_ID}/decision").get_data(as_text=True)
    assert "✓\n  Eligible" in decision and 'data-code="trd-met"' in decision
    assert "Eligibility: eligible" in decision  # the banner: the latest decision
    token = _token(decision)
    refused = browser.post(f"/ui/intakes/{INTAKE_ID}/reopen", data={"csrf_token": token, "reopen.reason": " "},
                           headers={"Origin": HOST})
    assert refused.status_code == 400 and 'id="reopen-reason-error"' in refused.get_data(as_text=True)
    reopened = browser.post(f"/ui/intakes/{INTAKE_ID}/reopen", data={"csrf_token": token,
                                                                     "reopen.reason": "new PHQ-9 taken"},
                            headers={"Origin": HOST})
    assert reopened.status_code == 303 and reopened.headers["Location"].endswith(f"/ui/intakes/{INTAKE_ID}?saved=reopen")
    assert '<fieldset class="plain" disabled>' not in browser.get(f"/ui/intakes/{INTAKE_ID}").get_data(as_text=True)
