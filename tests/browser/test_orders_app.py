"""The orders app in a real browser, launched from the EHR sandbox's chart as dr.okoye: live dose preview, create,
review, sign (the MedicationRequest and the series CarePlan reach the EHR), hold, resume and cancel. Then the API's
refusals with real tokens from the sandbox: no token, a token without the scope, a token for another patient."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from shared.events.topics import INTAKE_EVENTS
from shared.fhir.client import FhirNotFound
from shared.fhir.codes import identifier_system
from shared.fhir.codes import KIND_ORDER, KIND_SERIES
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.integration.orders.support import eligibility_message
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration

APP = "orders"
JSON = {"Accept": "application/json"}


# -- helpers -------------------------------------------------------------------------------------------------------
def _api(page, stack, method: str, path: str, body: dict | None = None) -> dict:
    """The orders API as the page's own script calls it: the browser's session cookie, JSON."""
    url = f"{stack.services['orders']}{path}"
    answer = page.request.fetch(url, method=method, headers=JSON, data=body)
    assert answer.ok, answer.text()
    return answer.json()


def _eligible(page, stack, patient_id: str) -> None:
    """An intake decision as the intake publishes it; wait until the orders service holds it."""
    message = eligibility_message(patient_id, "eligible", "active")
    intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
    publish(stack.bootstrap, INTAKE_EVENTS, message, key=patient_id)

    def stored() -> bool:
        answer = page.request.get(f"{stack.services['orders']}/patients/{patient_id}/eligibility", headers=JSON)
        return answer.status == 200 and answer.json().get("intake_id") == intake_id

    wait_for(stored, timeout_s=20, what="the eligibility decision to reach orders")


def _clear_signed_series(page, stack, patient_id: str) -> None:
    """Another test of this session may have left the patient a signed series; one series at a time is the rule."""
    for series in _api(page, stack, "GET", f"/patients/{patient_id}/series")["series"]:
        if series["order_status"] in ("active", "on-hold"):
            _api(page, stack, "POST", f"/orders/{series['order_id']}/cancel",
                 {"by": "browser test", "reason": "an earlier series cleared for this test"})


def _assert_every_control_is_labelled(page) -> None:
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')).filter(e => !e.labels || e.labels.length === 0)
        .map(e => e.id || e.name)""")
    assert unlabelled == []


def _ehr(stack, resource_type: str, kind: str, value: str) -> dict | None:
    try:
        return stack.ehr_client.read(resource_type, ehr_resource_id(identifier_system(kind), value))
    except FhirNotFound:
        return None


def _ehr_status(stack, resource_type: str, kind: str, value: str, status: str) -> dict | None:
    resource = _ehr(stack, resource_type, kind, value)
    return resource if resource and resource.get("status") == status else None


def _token(stack, patient_id: str, scope: str) -> str:
    return sandbox_token(stack, APP, patient_id, scope, user="dr.okoye")


def _call(stack, method: str, path: str, token: str | None = None, body: dict | None = None) -> requests.Response:
    headers = {**JSON, **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{stack.services['orders']}{path}", headers=headers, json=body, timeout=15)


# -- the clinician's flow ------------------------------------------------------------------------------------------
def test_a_prescriber_previews_creates_and_signs_an_order_that_reaches_the_ehr(smart_stack, page, browser):
    orders_url = smart_stack.services["orders"]
    patient_id = smart_stack.patient_id("KL-1001")
    launch_from_chart(page, smart_stack, APP, patient_id, "dr.okoye")
    _eligible(page, smart_stack, patient_id)
    _clear_signed_series(page, smart_stack, patient_id)

    # Home: the banner (eligibility as orders knows it) and the way to a new order
    page.reload()
    banner = page.get_by_test_id("patient-banner")
    assert "68.4 kg" in banner.inner_text()
    assert "DOB: 1978-03-14" in banner.inner_text() and "MRN: KL-1001" in banner.inner_text()
    assert page.get_by_test_id("eligibility").inner_text() == "Eligibility: eligible"
    assert "Signed in: Dr. Adaeze Okoye" in page.locator("header").inner_text()
    screenshot(page, "orders-home")
    page.get_by_test_id("new-order").click()

    # Order entry: the server's first calculation, with every input
    page.wait_for_url(f"{orders_url}/ui/orders/new")
    dose_text = page.get_by_test_id("dose-text")
    assert dose_text.inner_text().startswith("Ketamine 34 mg IV over 40 min: 0.5 mg/kg × 68.4 kg actual body weight")
    cell = lambda path: page.locator(f'#dose-preview td[data-calc="{path}"]').inner_text()  # noqa: E731
    assert (cell("weight.value_kg"), cell("weight_basis_used"), cell("mg_per_kg"), cell("dose_mg")) == (
        "68.4 kg", "actual", "0.5 mg/kg", "34 mg")
    assert (cell("drug_volume_ml"), cell("bag_volume_ml"), cell("rate_ml_per_h")) == ("3.4 mL", "103.4 mL",
                                                                                     "155.1 mL/h")
    assert len(cell("weight.measured_at")) == 10  # the date of the weight
    _assert_every_control_is_labelled(page)
    screenshot(page, "orders-new")

    # Live preview: typing recalculates through POST /dose-preview without leaving the page
    page.fill("#mg_per_kg", "0.6")
    # A locator assertion, not wait_for_function: the page's CSP allows no eval, which that uses.
    expect(page.locator("#dose-text")).to_have_text(re.compile(r"^Ketamine 41 mg"), timeout=30_000)
    assert cell("rate_ml_per_h") == "156.2 mL/h" and page.url.endswith("/ui/orders/new")
    page.fill("#mg_per_kg", "1.2")  # above the clinic maximum without an override: refused next to the field
    message = page.locator("#mg_per_kg-error")
    message.wait_for(state="visible")
    assert "a documented override is needed" in message.inner_text()
    assert page.locator("#mg_per_kg").get_attribute("aria-invalid") == "true"
    screenshot(page, "orders-new-live-refusal")
    page.fill("#mg_per_kg", "0.5")
    # A locator assertion, not wait_for_function: the page's CSP allows no eval, which that uses.
    expect(page.locator("#dose-text")).to_have_text(re.compile(r"^Ketamine 34 mg"), timeout=30_000)
    assert not message.is_visible()

    # Without script the same form recalculates on the server
    page.get_by_test_id("recalculate").click()
    page.wait_for_url(f"{orders_url}/ui/orders/preview")
    assert page.get_by_test_id("dose-text").inner_text().startswith("Ketamine 34 mg")
    screenshot(page, "orders-preview-posted")

    # Create from the keyboard (Enter in a field submits the form's first button: "Create draft order")
    page.focus("#infusion_count")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{orders_url}/ui/orders/*?done=created")
    order_id = page.url.split("/ui/orders/", 1)[1].split("?", 1)[0]
    assert page.get_by_test_id("order-status").get_attribute("data-status") == "draft"
    assert page.get_by_test_id("infusion-row").count() == 6
    assert "Draft order created" in page.get_by_test_id("notice").inner_text()
    assert page.get_by_test_id("dose-text").inner_text().startswith("Ketamine 34 mg")
    screenshot(page, "orders-review")

    # Signing is for prescribers (defect 21): a nurse on the same order is refused with the reason
    nurse = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        nurse_page = nurse.new_page()
        launch_from_chart(nurse_page, smart_stack, APP, patient_id, "nurse.ng")
        nurse_page.goto(f"{orders_url}/ui/orders/{order_id}")
        nurse_page.get_by_test_id("attestation").check()
        nurse_page.get_by_test_id("sign-button").click()
        assert "Only a prescriber may sign an order" in nurse_page.inner_text("main")
        screenshot(nurse_page, "orders-sign-refused-nurse")
    finally:
        nurse.close()

    # Sign: the prescriber ticks the attestation; the clinician's fhirUser name is the signature
    page.get_by_test_id("attestation").check()
    page.get_by_test_id("sign-button").click()
    page.wait_for_url(f"{orders_url}/ui/orders/{order_id}?done=signed")
    assert page.get_by_test_id("order-status").get_attribute("data-status") == "active"
    assert page.get_by_test_id("signed-by").inner_text() == "Dr. Adaeze Okoye"
    assert page.get_by_test_id("infusion-row").count() == 6
    screenshot(page, "orders-signed")

    # The EHR holds the signed MedicationRequest (mg and rate) and the series CarePlan with its 6 infusions
    series_id = _api(page, smart_stack, "GET", f"/orders/{order_id}")["series"]["series_id"]
    request = wait_for(lambda: _ehr_status(smart_stack, "MedicationRequest", KIND_ORDER, order_id, "active"),
                       timeout_s=20, what="the signed MedicationRequest in the EHR")
    calculated = request["dosageInstruction"][0]["doseAndRate"][1]
    assert calculated["doseQuantity"]["value"] == 34 and calculated["doseQuantity"]["unit"] == "mg"
    assert calculated["rateQuantity"]["value"] == 155.1 and calculated["rateQuantity"]["unit"] == "mL/h"
    assert request["requester"]["display"] == "Dr. Adaeze Okoye"
    assert request["subject"]["reference"] == f"Patient/{patient_id}"
    care_plan = wait_for(lambda: _ehr_status(smart_stack, "CarePlan", KIND_SERIES, series_id, "active"),
                         timeout_s=20, what="the series CarePlan in the EHR")
    assert len(care_plan["activity"]) == 6

    # Hold with a reason, resume, cancel with a reason
    page.fill("#hold-reason", "Blood pressure 168/102 before the infusion")
    page.get_by_test_id("hold-button").click()
    page.wait_for_url("**?done=held")
    assert page.get_by_test_id("order-status").get_attribute("data-status") == "on-hold"
    assert "Blood pressure 168/102" in page.get_by_test_id("history-table").inner_text()
    screenshot(page, "orders-on-hold")
    page.get_by_test_id("resume-button").click()
    page.wait_for_url("**?done=resumed")
    assert page.get_by_test_id("order-status").get_attribute("data-status") == "active"
    screenshot(page, "orders-resumed")
    page.fill("#cancel-reason", "Patient moved to another clinic")
    page.get_by_test_id("cancel-button").click()
    page.wait_for_url("**?done=cancelled")
    assert page.get_by_test_id("order-status").get_attribute("data-status") == "cancelled"
    assert page.locator("tr.infusion-cancelled").count() == 6
    screenshot(page, "orders-cancelled")
    wait_for(lambda: _ehr_status(smart_stack, "MedicationRequest", KIND_ORDER, order_id, "cancelled"),
             timeout_s=20, what="the cancelled MedicationRequest in the EHR")

    page.get_by_role("link", name="Patient's orders", exact=True).click()
    row = page.locator(f'[data-testid="order-row"][data-order-id="{order_id}"]')
    assert row.get_by_test_id("order-status").get_attribute("data-status") == "cancelled"
    screenshot(page, "orders-home-after")

    # Another patient's chart: this order is not shown there, even to a user-level token
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other_page = other.new_page()
        launch_from_chart(other_page, smart_stack, APP, smart_stack.patient_id("KL-1002"), "nurse.ng")
        refused = other_page.goto(f"{orders_url}/ui/orders/{order_id}")
        assert refused.status == 403
        assert other_page.locator('[data-smart-error="other-patient"]').count() == 1
        screenshot(other_page, "orders-other-patient-refused")
    finally:
        other.close()


# -- the API's refusals --------------------------------------------------------------------------------------------
def test_without_a_token_the_api_answers_401_and_the_page_asks_for_a_launch(smart_stack):
    patient_id = smart_stack.patient_id("KL-1001")
    answer = _call(smart_stack, "POST", "/dose-preview", body={"patient_id": patient_id})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith('Bearer realm="ketalink"')
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert _call(smart_stack, "GET", f"/patients/{patient_id}/series").status_code == 401
    page = requests.get(f"{smart_stack.services['orders']}/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 401 and 'data-smart-error="launch-required"' in page.text


def test_a_token_without_the_scope_gets_403(smart_stack):
    patient_id = smart_stack.patient_id("KL-1001")
    token = _token(smart_stack, patient_id, "openid fhirUser patient/Patient.rs patient/Observation.rs")
    # reading the weight for a preview is within these scopes ...
    assert _call(smart_stack, "POST", "/dose-preview", token, {"patient_id": patient_id}).status_code == 200
    # ... writing a MedicationRequest or searching the CarePlans is not
    created = _call(smart_stack, "POST", "/orders", token, {
        "patient_id": patient_id, "start_date": "2099-01-05", "created_by": "Dr. Adaeze Okoye"})
    assert created.status_code == 403 and created.json()["issue"][0]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in created.headers["WWW-Authenticate"]
    assert "do not allow create" in created.json()["issue"][0]["diagnostics"]
    assert _call(smart_stack, "GET", f"/patients/{patient_id}/series", token).status_code == 403


def test_a_token_for_another_patient_is_refused(smart_stack):
    mine, theirs = smart_stack.patient_id("KL-1002"), smart_stack.patient_id("KL-1001")
    token = _token(smart_stack, mine, "openid fhirUser patient/*.cruds")
    assert _call(smart_stack, "GET", f"/patients/{mine}/series", token).status_code == 200
    refused = _call(smart_stack, "GET", f"/patients/{theirs}/series", token)
    assert refused.status_code == 403 and "another patient" in refused.json()["issue"][0]["diagnostics"]
    assert _call(smart_stack, "POST", "/dose-preview", token, {"patient_id": theirs}).status_code == 403
    assert _call(smart_stack, "GET", f"/patients/{theirs}/eligibility", token).status_code == 403
    created = _call(smart_stack, "POST", "/orders", token, {
        "patient_id": theirs, "start_date": "2099-01-05", "created_by": "Dr. Adaeze Okoye"})
    assert created.status_code == 403
