"""The course page in a real browser, launched from the EHR sandbox's chart as dr.okoye: an induction order signed
(the course starts), a PHQ-9 entered through the form (the chart draws it), a positive item 9 raising a suicidality
alert that the prescriber acknowledges on the page; the alert reaches the EHR as a DetectedIssue with its
mitigation."""
from __future__ import annotations


import pytest

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from shared.events.topics import INTAKE_EVENTS
from shared.fhir.client import FhirNotFound
from shared.fhir.codes import identifier_system
from tests.browser.conftest import launch_from_chart, screenshot
from tests.integration.orders.support import eligibility_message
from tests.support.kafka_tools import publish, wait_for
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration

APP = "orders"
JSON = {"Accept": "application/json"}


def _api(page, stack, method: str, path: str, body: dict | None = None) -> dict:
    answer = page.request.fetch(f"{stack.services['orders']}{path}", method=method, headers=JSON, data=body)
    assert answer.ok, answer.text()
    return answer.json()


def _ehr(stack, resource_type: str, kind: str, value: str) -> dict | None:
    try:
        return stack.ehr_client.read(resource_type, ehr_resource_id(identifier_system(kind), value))
    except FhirNotFound:
        return None


def test_a_prescriber_records_a_phq9_and_acknowledges_the_alert_on_the_course_page(smart_stack, page):
    orders_url = smart_stack.services["orders"]
    patient_id = smart_stack.patient_id("KL-1003")
    launch_from_chart(page, smart_stack, APP, patient_id, "dr.okoye")
    message = eligibility_message(patient_id, "eligible", "active")
    publish(smart_stack.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
    wait_for(lambda: page.request.get(f"{orders_url}/patients/{patient_id}/eligibility", headers=JSON).json()
             .get("intake_id") == intake_id, timeout_s=20, what="the eligibility decision to reach orders")
    for series in _api(page, smart_stack, "GET", f"/patients/{patient_id}/series")["series"]:
        if series["order_status"] in ("active", "on-hold"):
            _api(page, smart_stack, "POST", f"/orders/{series['order_id']}/cancel",
                 {"by": "browser test", "reason": "an earlier series cleared for this test"})
    order = _api(page, smart_stack, "POST", "/orders", {"patient_id": patient_id,
                                                        "start_date": clinic_today().isoformat(),
                                                        "created_by": "Dr. Adaeze Okoye"})
    _api(page, smart_stack, "POST", f"/orders/{order['order_id']}/sign",
         {"signed_by": "Dr. Adaeze Okoye", "attested": True})

    page.goto(f"{orders_url}/ui/course")
    assert page.get_by_test_id("course-status").get_attribute("data-status") == "induction"
    assert "Induction infusion 1 of 6" in page.get_by_test_id("due-actions").inner_text()
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
        'input:not([type=hidden]), select, textarea')).filter(e => !e.labels || e.labels.length === 0)
        .map(e => e.id || e.name)""")
    assert unlabelled == []
    screenshot(page, "course-started")

    for number, value in enumerate([2, 2, 1, 2, 1, 1, 1, 0, 1], start=1):
        page.select_option(f"#score-item-{number}", str(value))
    page.select_option("#score-context", "follow-up")
    page.get_by_test_id("score-button").click()
    page.wait_for_url("**/ui/course?done=score")
    assert page.locator('[data-testid="score-chart"] circle').count() == 1
    assert "PHQ-9 scores:" in page.locator('[data-testid="score-chart"] desc').first.text_content()
    alert = page.get_by_test_id("alert")
    assert "PHQ-9 item 9" in alert.inner_text()
    screenshot(page, "course-alert")

    course = _api(page, smart_stack, "GET", f"/patients/{patient_id}/course")
    [open_alert] = course["summary"]["open_alerts"]
    wait_for(lambda: _ehr(smart_stack, "DetectedIssue", "course-suicidality-alert", open_alert["alert_id"]),
             timeout_s=20, what="the DetectedIssue in the EHR")
    alert.get_by_label("Action taken").fill("Called the patient; safety plan reviewed")
    alert.get_by_test_id("acknowledge-button").click()
    page.wait_for_url("**/ui/course?done=acknowledged")
    assert page.get_by_test_id("alert").count() == 0
    assert "The alert was acknowledged." in page.get_by_test_id("notice").inner_text()
    screenshot(page, "course-alert-acknowledged")
    issue = wait_for(lambda: (r := _ehr(smart_stack, "DetectedIssue", "course-suicidality-alert",
                                        open_alert["alert_id"])) and r.get("mitigation") and r,
                     timeout_s=20, what="the acknowledgement in the EHR")
    assert issue["mitigation"][0]["author"]["display"] == "Dr. Adaeze Okoye"
