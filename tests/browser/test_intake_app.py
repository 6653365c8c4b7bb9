"""The intake app in a real browser: opened from the sandbox EHR's chart for James Okafor (KL-1002) by nurse.ng,
every part completed in the pages (with one refused PHQ-9 on the way); the nurse may not decide, dr.okoye (a
prescriber) decides eligible with the attestation; the decision's
RiskAssessment, Consent and PHQ-9 QuestionnaireResponse then sit in the EHR. Plus the API's refusals with real
tokens from the sandbox: none (401), a scope that lacks the resource (403), a token for another patient (403)."""
from __future__ import annotations

import re

import pytest
import requests

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS
from services.intake.translators.codes import CONSENT_KIND, ELIGIBILITY_KIND, QUESTIONNAIRE_RESPONSE_KIND
from shared.fhir.client import FhirNotFound
from shared.fhir.datatypes import identifier
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration

APP = "intake"
NURSE = "nurse.ng"
PHQ9 = [2, 3, 2, 2, 1, 2, 2, 1, 0]  # total 15; item 9 (suicidality) 0
MADRS = [4, 4, 3, 3, 2, 3, 3, 4, 3, 1]  # total 30


def save(page, part: str) -> None:
    """Submit a part's form and wait for the page it redirects to."""
    with page.expect_navigation():
        page.locator(f"form[data-part='{part}'] button[type=submit]").click()


def in_ehr(stack, resource_type: str, kind: str, value: str) -> dict | None:
    """The resource the EHR's integration engine stored for a Ketalink identifier (None until it has)."""
    try:
        return stack.ehr_client.read(resource_type, ehr_resource_id(identifier(kind, value)["system"], value))
    except FhirNotFound:
        return None


def test_a_nurse_completes_an_intake_from_the_chart_and_the_decision_reaches_the_ehr(smart_stack, page, browser):
    base = smart_stack.services["intake"]
    launch_from_chart(page, smart_stack, APP, smart_stack.patient_id("KL-1002"), NURSE)
    banner = page.get_by_test_id("patient-banner")
    assert "James Okafor" in banner.inner_text() and "92.0 kg" in banner.inner_text()
    # two identifiers on screen (defect 20): date of birth and MRN next to the name
    assert "DOB: 1969-11-02" in banner.inner_text() and "MRN: KL-1002" in banner.inner_text()
    assert page.get_by_test_id("eligibility").inner_text().startswith("Eligibility: ")  # of the latest decision
    screenshot(page, "intake-home")

    with page.expect_navigation():
        page.get_by_role("button", name="Start intake").click()
    intake_id = re.fullmatch(rf"{re.escape(base)}/ui/intakes/([0-9a-f-]+)", page.url).group(1)
    assert "Grace Ng, RN" in page.get_by_test_id("intake-status").locator("xpath=..").inner_text()
    screenshot(page, "intake-started")

    # Prior trials: the EHR's two antidepressants are offered; the nurse confirms both as failed adequate trials.
    rows = page.get_by_test_id("trial-row")
    assert rows.nth(0).get_by_label("Drug").input_value() == "escitalopram"
    assert rows.nth(1).get_by_label("Drug").input_value() == "bupropion"
    for row, improvement in ((0, "20"), (1, "15")):
        page.fill(f"#trials-{row}-improvement_pct", improvement)
        page.check(f"#trials-{row}-adequate_dose")  # the first choice: Yes
        page.check(f"#trials-{row}-current_episode")
    save(page, "trials")
    assert page.get_by_test_id("notice").inner_text() == "Prior antidepressant trials saved."

    # Contraindication screen: all absent except hyperthyroidism, unknown (then overridden with a reason).
    screen = page.locator("form[data-part=contraindications] tbody tr")
    for index in range(screen.count()):
        presence = "unknown" if screen.nth(index).get_attribute("data-key") == "untreated-hyperthyroidism" \
            else "absent"
        page.check(f"#contraindications-answers-{index}-presence-{presence}")
    page.locator("tr[data-key=untreated-hyperthyroidism] input[type=text]").fill("TSH not yet back")
    save(page, "contraindications")
    assert "step=vitals" in page.url  # the next step that needs work
    with page.expect_navigation():  # the override is its own step: open it from the step list
        page.locator("[data-step=overrides]").click()
    override = page.locator("form[data-override=untreated-hyperthyroidism]")
    override.get_by_label("Reason for the override").fill("Euthyroid on exam; TSH normal in March")
    with page.expect_navigation():
        override.get_by_role("button", name="Override").click()
    assert "Overridden" in page.locator("form[data-override=untreated-hyperthyroidism]").inner_text()
    with page.expect_navigation():
        page.locator("[data-step=vitals]").click()

    # Baseline vitals (weight and height came from the EHR).
    vitals = page.locator("form[data-part=vitals]")
    for label, value in (("Systolic", "126"), ("Diastolic", "80"), ("Heart rate", "70"),
                         ("Oxygen saturation", "98"), ("Respiratory rate", "14")):
        vitals.get_by_label(label).fill(value)
    save(page, "vitals")
    assert "126/80 mmHg" in page.get_by_test_id("vitals-recorded").inner_text()

    # PHQ-9 with item 9 left empty: the browser's own check holds the form; without it the server refuses it,
    # names the field, and saves nothing. Then the corrected form is saved and its total shown.
    for index, score in enumerate(PHQ9[:8]):
        page.fill(f"#phq9-items-{index}", str(score))
    page.locator("form[data-part=phq9] button[type=submit]").click()
    assert page.eval_on_selector("#phq9-items-8", "e => e.validity.valueMissing") is True
    assert page.url.startswith(f"{base}/ui/intakes/{intake_id}") and "saved=phq9" not in page.url
    page.eval_on_selector("form[data-part=phq9]", "f => { f.noValidate = true; }")
    save(page, "phq9")
    assert page.locator("#phq9-items-8-error").inner_text() == "⚠ item 9 is required and missing"
    assert page.locator("#phq9-items-8").get_attribute("aria-invalid") == "true"
    assert "PHQ-9 item 9" in page.get_by_test_id("error-summary").inner_text()
    assert page.locator("#phq9-items-0").input_value() == "2"  # the form as typed
    assert page.get_by_test_id("phq9-total").count() == 0  # nothing saved
    screenshot(page, "intake-phq9-refused")
    page.fill("#phq9-items-8", str(PHQ9[8]))
    save(page, "phq9")
    assert page.get_by_test_id("phq9-total").inner_text().startswith("Total: 15 of 27")

    for index, score in enumerate(MADRS):
        page.fill(f"#madrs-items-{index}", str(score))
    save(page, "madrs")
    assert page.get_by_test_id("madrs-total").inner_text().startswith("Total: 30 of 60")

    page.check("#cssrs-wish-to-be-dead")  # Yes
    page.check("#cssrs-suicidal-thoughts-no")
    page.check("#cssrs-suicidal-behaviour-lifetime-no")
    save(page, "cssrs")
    assert page.get_by_test_id("cssrs-risk").inner_text().startswith("Risk: low")

    # Consent with the keyboard only: Space picks a radio, Tab moves on, Enter submits.
    page.focus("#consent-decision")
    page.keyboard.press("Space")  # given
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # signed by the patient
    page.keyboard.press("Tab")  # representative's name (left blank)
    page.keyboard.press("Tab")
    page.keyboard.type("iv-ketamine-v3")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # ride home: yes
    for _element in DEFAULT_CONSENT_ELEMENTS:  # each element explained and acknowledged, ticked in turn
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_test_id("notice").inner_text() == "Informed consent saved."
    assert "step=decide" in page.url and page.get_by_test_id("missing").inner_text().startswith("✓ Nothing missing")
    screenshot(page, "intake-complete")

    # Deciding is for prescribers (defect 21): the nurse who completed the intake is refused, with the reason
    page.get_by_test_id("attestation").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Decide eligibility").click()
    assert "Only a prescriber may decide eligibility" in page.inner_text("main")
    screenshot(page, "intake-decide-refused-nurse")
    # The prescriber opens the intake from the chart, ticks the attestation and decides
    prescriber = browser.new_context(viewport={"width": 1280, "height": 900})
    page = prescriber.new_page()
    launch_from_chart(page, smart_stack, APP, smart_stack.patient_id("KL-1002"), "dr.okoye")
    page.goto(f"{base}/ui/intakes/{intake_id}")
    page.get_by_test_id("attestation").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Decide eligibility").click()
    assert page.url == f"{base}/ui/intakes/{intake_id}/decision"
    assert "Eligible" in page.get_by_test_id("outcome").inner_text()
    reasons = page.get_by_test_id("reasons").inner_text()
    assert "Treatment-resistant depression: 2 of 2 adequate trials without response" in reasons
    assert "Untreated hyperthyroidism; overridden by Grace Ng, RN" in reasons
    assert "Informed consent given by the patient" in reasons

    assessment = wait_for(lambda: in_ehr(smart_stack, "RiskAssessment", ELIGIBILITY_KIND, intake_id), timeout_s=30,
                          what="the eligibility RiskAssessment in the EHR")
    assert assessment["prediction"][0]["outcome"]["coding"][0]["code"] == "eligible"
    okafor = smart_stack.patient_id("KL-1002")
    assert assessment["subject"]["reference"] == f"Patient/{okafor}"
    consent = in_ehr(smart_stack, "Consent", CONSENT_KIND, intake_id)
    assert consent["status"] == "active" and consent["policy"][0]["uri"].endswith("/iv-ketamine-v3")
    assert [p["code"][0]["coding"][0]["code"] for p in consent["provision"]["provision"]][1:] == [
        f"consent-element-{key}" for key in DEFAULT_CONSENT_ELEMENTS]
    phq9 = in_ehr(smart_stack, "QuestionnaireResponse", QUESTIONNAIRE_RESPONSE_KIND, f"{intake_id}-phq-9")
    assert phq9["subject"]["reference"] == f"Patient/{okafor}" and phq9["questionnaire"].endswith("/phq-9")
    assert [item["answer"][0]["valueInteger"] for item in phq9["item"]] == [*PHQ9, 15]  # items, then the total

    def shown_as_applied() -> bool:  # the EHR's answer to the decision message arrives on ehr.responses
        page.reload()
        return "applied by the EHR" in page.get_by_test_id("ehr-delivery").inner_text()

    wait_for(shown_as_applied, timeout_s=30, interval_s=0.5, what="the decision page showing the EHR's answer")
    screenshot(page, "intake-decision")
    page.get_by_role("link", name="All intakes for this patient").click()
    assert page.get_by_test_id("eligibility").inner_text() == "Eligibility: eligible"
    screenshot(page, "intake-home-decided")
    prescriber.close()


# --- the API with real tokens ---------------------------------------------------------------------------------------
def token(stack, patient: str, scope: str) -> str:
    return sandbox_token(stack, APP, patient, scope, user=NURSE)


def call(stack, path: str, token: str | None = None, method: str = "GET", json: dict | None = None
         ) -> requests.Response:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{stack.services['intake']}{path}", headers=headers, json=json, timeout=15)


def test_the_api_refuses_no_token_a_missing_scope_and_another_patients_token(smart_stack):
    gonzalez, chen = smart_stack.patient_id("KL-1001"), smart_stack.patient_id("KL-1004")

    anonymous = call(smart_stack, f"/patients/{chen}/intakes")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")

    patient_only = token(smart_stack, chen, "openid fhirUser patient/Patient.rs")
    refused = call(smart_stack, f"/patients/{chen}/intakes", patient_only)
    assert refused.status_code == 403 and 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert "QuestionnaireResponse" in refused.json()["issue"][0]["diagnostics"]
    reading_only = token(smart_stack, chen, "openid fhirUser patient/*.rs")
    assert call(smart_stack, f"/patients/{chen}/intakes", reading_only).status_code == 200
    assert call(smart_stack, "/intakes", reading_only, "POST",
                {"patient_id": chen, "started_by": "Grace Ng, RN"}).status_code == 403  # no create

    gonzalez_token = token(smart_stack, gonzalez, "openid fhirUser patient/*.cruds")
    assert call(smart_stack, f"/patients/{gonzalez}/intakes", gonzalez_token).status_code == 200
    other = call(smart_stack, f"/patients/{chen}/intakes", gonzalez_token)
    assert other.status_code == 403 and "another patient" in other.json()["issue"][0]["diagnostics"]
    assert call(smart_stack, "/intakes", gonzalez_token, "POST",
                {"patient_id": chen, "started_by": "Grace Ng, RN"}).status_code == 403
    chen_token = token(smart_stack, chen, "openid fhirUser patient/*.cruds")
    started = call(smart_stack, "/intakes", chen_token, "POST", {"patient_id": chen, "started_by": "Grace Ng, RN"})
    assert started.status_code == 201, started.text
    intake_id = started.json()["intake_id"]
    assert call(smart_stack, f"/intakes/{intake_id}", chen_token).status_code == 200
    assert call(smart_stack, f"/intakes/{intake_id}", gonzalez_token).status_code == 403
    assert call(smart_stack, f"/intakes/{intake_id}/phq9", gonzalez_token, "PUT", {"items": PHQ9}).status_code == 403
    assert call(smart_stack, f"/intakes/{intake_id}", chen_token).json()["phq9"] is None  # nothing changed
