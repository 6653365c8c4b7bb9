"""The patient's questionnaire link in Chromium: dr.okoye opens the course's questionnaires from the EHR chart, sees
what is due and makes a PHQ-9 link (shown with its QR code); on a phone-sized viewport (390x844, touch, no
sign-in) the patient fills it with item 9 answered "several days": the crisis contacts come first, the score is in
the course with its suicidality alert and its Observation in the EHR with the patient as performer. The used link
and an expired one are refused with plain pages. A QIDS-SR16 link, worded from the clinic's Questionnaire file (the
test placeholder in tests/fixtures: no real wording), is filled on the phone for a patient of its own: 16 questions
each with its own answers, item 12 positive raises the alert, the course and the EHR get the QIDS-SR16 domain total
and the EHR's QuestionnaireResponse names the clinic's Questionnaire. axe-core runs on every page shown."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from shared.events.topics import INTAKE_EVENTS
from shared.fhir.codes import identifier_system
from shared.fhir.client import FhirNotFound
from tests.browser.axe import assert_accessible
from tests.browser.conftest import launch_from_chart, screenshot
from tests.integration.orders.support import eligibility_message, patient_of_its_own
from shared.scales import Scale, total_score
from tests.support.kafka_tools import publish, wait_for
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration

JSON = {"Accept": "application/json"}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
ANSWERS = [2, 1, 1, 2, 1, 0, 1, 0, 1]  # total 9, item 9 "several days"
QIDS_ANSWERS = (1, 0, 3, 0, 2, 1, 0, 0, 0, 1, 2, 2, 1, 1, 0, 3)  # item 12 = 2 (alert); domain total 16, sum 17
QIDS_CANONICAL = "https://clinic.test.example/fhir/Questionnaire/qids-sr16-test-placeholder|test-1"


def _api(page, stack, method: str, path: str, body: dict | None = None) -> dict:
    answer = page.request.fetch(f"{stack.services['orders']}{path}", method=method, headers=JSON, data=body)
    assert answer.ok, answer.text()
    return answer.json()


def _course_for(page, stack, patient_id: str) -> dict:
    """The patient's course: started by signing an induction order (as the course page's test does)."""
    orders_url = stack.services["orders"]
    message = eligibility_message(patient_id, "eligible", "active")
    publish(stack.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
    wait_for(lambda: page.request.get(f"{orders_url}/patients/{patient_id}/eligibility", headers=JSON).json()
             .get("intake_id") == intake_id, timeout_s=20, what="the eligibility decision to reach orders")
    for series in _api(page, stack, "GET", f"/patients/{patient_id}/series")["series"]:
        if series["order_status"] in ("active", "on-hold"):
            _api(page, stack, "POST", f"/orders/{series['order_id']}/cancel",
                 {"by": "browser test", "reason": "an earlier series cleared for this test"})
    order = _api(page, stack, "POST", "/orders", {"patient_id": patient_id, "start_date": clinic_today().isoformat(),
                                                  "created_by": "Dr. Adaeze Okoye"})
    _api(page, stack, "POST", f"/orders/{order['order_id']}/sign", {"signed_by": "Dr. Adaeze Okoye",
                                                                    "attested": True})
    return _api(page, stack, "GET", f"/patients/{patient_id}/course")


def _make_link(page, scale: str = "phq-9") -> str:
    page.select_option("#scale", scale)
    page.get_by_test_id("create-link-button").click()
    page.get_by_test_id("link-created").wait_for()
    return page.get_by_test_id("patient-link-url").input_value()


def _ehr_observation(stack, measurement_id: str) -> dict | None:
    return _ehr_resource(stack, "Observation", "course-score", measurement_id)


def _ehr_resource(stack, resource_type: str, kind: str, value: str) -> dict | None:
    try:
        return stack.ehr_client.read(resource_type, ehr_resource_id(identifier_system(kind), value))
    except FhirNotFound:
        return None


def test_a_patient_fills_a_phq9_link_on_a_phone_and_the_clinic_sees_score_and_alert(smart_stack, page, browser):
    orders_url = smart_stack.services["orders"]
    patient_id = smart_stack.patient_id("KL-1003")
    launch_from_chart(page, smart_stack, "orders", patient_id, "dr.okoye")
    course = _course_for(page, smart_stack, patient_id)

    page.goto(f"{orders_url}/ui/course/questionnaires")
    due = page.locator('[data-testid="due-row"][data-scale="phq-9"]')
    assert due.get_attribute("data-state") in ("due", "overdue", "not-due")
    url = _make_link(page)
    token = url.rsplit("/q/", 1)[1]
    assert url.startswith(orders_url) and len(token) == 43 and patient_id not in url
    assert page.locator('[data-testid="patient-link-qr"] svg').count() == 1
    assert_accessible(page, "patient-link-staff")
    screenshot(page, "patient-link-staff")

    phone_context = browser.new_context(**PHONE)
    phone_context.set_default_timeout(15000)
    phone = phone_context.new_page()
    try:
        phone.goto(url)
        assert phone.locator("fieldset.question").count() == 9
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        assert "Lindqvist" not in phone.content()  # the page names nobody
        assert_accessible(phone, "patient-link-form-phone")
        screenshot(phone, "patient-link-form-phone")
        for number, value in enumerate(ANSWERS, start=1):
            phone.locator(f'input[name="item-{number}"][value="{value}"]').check()
        phone.get_by_test_id("send-answers").click()
        phone.get_by_test_id("answers-sent").wait_for()
        crisis = phone.get_by_test_id("crisis-contacts")
        assert crisis.get_attribute("role") == "alert" and "988" in crisis.inner_text()
        assert crisis.bounding_box()["y"] < phone.get_by_test_id("answers-sent").bounding_box()["y"]
        assert_accessible(phone, "patient-link-done-phone")
        screenshot(phone, "patient-link-done-phone")

        # The course has the patient's score and the open alert as soon as the page answered.
        after = _api(page, smart_stack, "GET", f"/patients/{patient_id}/course")
        links = _api(page, smart_stack, "GET", f"/courses/{course['course_id']}/questionnaires")["links"]
        measurement_id = next(entry for entry in links if entry["state"] == "used")["measurement_id"]  # newest
        [alert] = [a for a in after["alerts"] if a["measurement_id"] == measurement_id]
        assert alert["source"] == "phq9-item9" and alert["acknowledged_at"] is None
        observation = wait_for(lambda: _ehr_observation(smart_stack, measurement_id), timeout_s=30,
                               what="the patient's Observation in the EHR")
        assert observation["performer"][0]["reference"] == f"Patient/{patient_id}"
        assert observation["valueQuantity"]["value"] == sum(ANSWERS)
        _api(page, smart_stack, "POST", f"/courses/{course['course_id']}/alerts/{alert['alert_id']}/acknowledge",
             {"action_taken": "Called the patient; safety plan reviewed"})  # leaves no open alert to later tests

        phone.goto(url)  # the link again: used
        assert phone.get_by_test_id("link-refused").inner_text() == "These answers have already been sent"
        assert_accessible(phone, "patient-link-used-phone")

        expired_url = _make_link(page)
        digest = hashlib.sha256(expired_url.rsplit("/q/", 1)[1].encode()).hexdigest()
        past = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        with sqlite3.connect(smart_stack.services_data_dir / "orders.db", timeout=30) as db:
            assert db.execute("UPDATE patient_links SET expires_at = ? WHERE token_hash = ?",
                              (past, digest)).rowcount == 1
        answer = phone.goto(expired_url)
        assert answer.status == 410
        assert phone.get_by_test_id("link-refused").inner_text() == "This link has expired"
        screenshot(phone, "patient-link-expired-phone")
    finally:
        phone_context.close()


def test_a_patient_fills_a_qids_sr16_link_worded_by_the_clinics_file_on_a_phone(smart_stack, page, browser):
    orders_url = smart_stack.services["orders"]
    patient_id = patient_of_its_own(smart_stack.ehr_client)
    launch_from_chart(page, smart_stack, "orders", patient_id, "dr.okoye")
    course = _course_for(page, smart_stack, patient_id)

    page.goto(f"{orders_url}/ui/course/questionnaires")
    assert page.locator('[data-testid="due-row"][data-scale="qids-sr16"]').count() == 1
    assert page.get_by_test_id("no-link-scales").count() == 0  # the clinic's file is loaded: a link is offered
    url = _make_link(page, "qids-sr16")
    assert patient_id not in url

    phone_context = browser.new_context(**PHONE)
    phone_context.set_default_timeout(15000)
    phone = phone_context.new_page()
    try:
        phone.goto(url)
        assert phone.locator("fieldset.question").count() == 16
        assert phone.get_by_role("heading", level=1).inner_text().startswith("Test placeholder questionnaire")
        item12 = phone.locator("#item-12")
        assert item12.locator("legend").inner_text() == "12. Test item 12 (placeholder, not the instrument's wording)"
        assert [label.inner_text().strip() for label in item12.locator("label.answer").all()] == [
            f"Test item 12 answer {score}" for score in range(4)]
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        assert_accessible(phone, "patient-link-qids-form-phone")
        screenshot(phone, "patient-link-qids-form-phone")
        for number, value in enumerate(QIDS_ANSWERS, start=1):
            phone.get_by_label(f"Test item {number} answer {value}", exact=True).check()
        phone.get_by_test_id("send-answers").click()
        phone.get_by_test_id("answers-sent").wait_for()
        crisis = phone.get_by_test_id("crisis-contacts")
        assert crisis.get_attribute("role") == "alert" and "988" in crisis.inner_text()
        assert crisis.bounding_box()["y"] < phone.get_by_test_id("answers-sent").bounding_box()["y"]
        assert_accessible(phone, "patient-link-qids-done-phone")

        after = _api(page, smart_stack, "GET", f"/patients/{patient_id}/course")
        links = _api(page, smart_stack, "GET", f"/courses/{course['course_id']}/questionnaires")["links"]
        measurement_id = next(entry for entry in links if entry["state"] == "used")["measurement_id"]
        [alert] = [a for a in after["alerts"] if a["measurement_id"] == measurement_id]
        assert alert["source"] == "qids-sr16-item12" and alert["acknowledged_at"] is None
        observation = wait_for(lambda: _ehr_observation(smart_stack, measurement_id), timeout_s=30,
                               what="the patient's QIDS-SR16 Observation in the EHR")
        assert observation["valueQuantity"]["value"] == total_score(Scale.QIDS_SR16, QIDS_ANSWERS) == 16
        response = wait_for(lambda: _ehr_resource(smart_stack, "QuestionnaireResponse",
                                                  "course-questionnaire-response", measurement_id),
                            timeout_s=30, what="the patient's QuestionnaireResponse in the EHR")
        assert response["questionnaire"] == QIDS_CANONICAL
        assert response["item"][11]["answer"][0]["valueCoding"]["display"] == "Test item 12 answer 2"
        _api(page, smart_stack, "POST", f"/courses/{course['course_id']}/alerts/{alert['alert_id']}/acknowledge",
             {"action_taken": "Called the patient; safety plan reviewed"})  # leaves no open alert to later tests
    finally:
        phone_context.close()
