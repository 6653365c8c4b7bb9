"""The course page with Flask's test client: the orders app as ``bootstrap.build`` wires it, reading the real EHR
sandbox for the banner, with a SMART session put straight into its store as the launch callback would. An order
signed through the API starts the course; the page shows its chart and due actions, takes a PHQ-9, shows and
acknowledges a suicidality alert, refuses a decision without its reason next to the field, and refuses another
patient's course."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.orders.bootstrap import build
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.repository import OrdersRepository
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
ORIGIN = {"Origin": "http://localhost", "Accept": "text/html"}
SCOPE = "launch openid patient/*.rs user/*.cruds"


@pytest.fixture
def stack(tmp_path, monkeypatch, ehr):
    monkeypatch.setenv("ORDERS_COURSE_ALERT_SEND_WAIT_S", "0")  # no broker here: the alert stays in the outbox
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    return app, runtime, ehr


def _patient(ehr, mrn: str) -> str:
    return ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]


def _csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page).group(1).decode()


def _error_of(page: bytes, field: str) -> str:
    found = re.search(rf'id="{re.escape(field)}-error"\s*>(.*?)</p>'.encode(), page, re.S)
    return found.group(1).decode().strip() if found else ""


def _signed_course(stack, mrn: str, cookie: str):
    app, runtime, ehr = stack
    patient_id = _patient(ehr, mrn)
    with runtime.engine.begin() as conn:
        OrdersRepository().save_eligibility(conn, EligibilityDecision(
            patient_id, "intake-1", EligibilityStatus.ELIGIBLE, True, datetime.now(timezone.utc)))
    client = signed_in(app, patient_id, fhir_user=registered_nurse(ehr.client).fhir_user, scope=SCOPE, cookie=cookie,
                       iss=ehr.base_url)
    today = datetime.now(timezone.utc).date().isoformat()
    created = client.post("/orders", json={"patient_id": patient_id, "start_date": today, "created_by": "Dr. Test"})
    assert created.status_code == 201, created.data
    prescribing = signed_in(app, patient_id, fhir_user=prescriber(ehr.client).fhir_user, scope=SCOPE,
                            cookie=f"{cookie}-prescriber", iss=ehr.base_url)  # only a prescriber signs (shared/roles.py)
    signed = prescribing.post(f"/orders/{created.json['order_id']}/sign",
                              json={"signed_by": "Dr. Test", "attested": True})
    assert signed.status_code == 200, signed.data
    course = client.get(f"/patients/{patient_id}/course").json
    return client, patient_id, course["course_id"]


def _phq9_form(token: str, items: list[int], by: str = "RN Test") -> dict[str, str]:
    return {"csrf_token": token, "context": "follow-up", "by": by,
            **{f"item-{n}": str(value) for n, value in enumerate(items, start=1)}}


def test_before_an_order_is_signed_the_page_says_there_is_no_course(stack):
    app, _runtime, ehr = stack
    client = signed_in(app, _patient(ehr, "KL-1003"), scope=SCOPE, cookie="cookie-0", iss=ehr.base_url)
    page = client.get("/ui/course")
    assert page.status_code == 200 and b'data-testid="no-course"' in page.data
    assert b"Sarah Lindqvist" in page.data  # the banner from the EHR


def test_the_course_page_takes_scores_and_alerts_and_refuses_what_the_rules_refuse(stack):
    client, _patient_id, course_id = _signed_course(stack, "KL-1001", "cookie-1")
    page = client.get("/ui/course")
    assert page.status_code == 200
    assert b'data-status="induction"' in page.data and b"Maria Elena Gonzalez" in page.data
    assert b'role="img"' in page.data and b"No PHQ-9 yet" in page.data  # the chart, empty for now
    assert b"Induction infusion 1 of 6" in page.data
    token = _csrf(page.data)

    bad = client.post(f"/ui/course/{course_id}/scores", data=_phq9_form(token, [1] * 8), headers=ORIGIN)
    assert bad.status_code == 400 and "item 9 is required" in _error_of(bad.data, "score-item-9")
    assert b'href="#score-item-9"' in bad.data
    recorded = client.post(f"/ui/course/{course_id}/scores", data=_phq9_form(token, [2] * 8 + [1]), headers=ORIGIN)
    assert recorded.status_code == 303 and recorded.headers["Location"].endswith("?done=score")
    page = client.get(recorded.headers["Location"])
    assert b"The score was recorded." in page.data and b"PHQ-9 scores:" in page.data  # the chart's description
    assert b'data-testid="severity">(moderately severe)</span>' in page.data  # 17: its PHQ-9 band (defect 17)
    assert b'data-testid="alert"' in page.data and b"PHQ-9 item 9" in page.data

    alert_id = re.search(rb'/alerts/([^/]+)/acknowledge', page.data).group(1).decode()
    no_action = client.post(f"/ui/course/{course_id}/alerts/{alert_id}/acknowledge",
                            data={"csrf_token": token, "by": "Dr. Test", "action_taken": ""}, headers=ORIGIN)
    assert no_action.status_code == 400
    assert _error_of(no_action.data, f"ack-{alert_id}-action_taken") == "Error: required text is missing"
    done = client.post(f"/ui/course/{course_id}/alerts/{alert_id}/acknowledge",
                       data={"csrf_token": token, "by": "Dr. Test", "action_taken": "called; safety plan"},
                       headers=ORIGIN)
    assert done.status_code == 303
    assert b'data-testid="alert"' not in client.get(done.headers["Location"]).data

    no_reason = client.post(f"/ui/course/{course_id}/decisions", data={
        "csrf_token": token, "decision": "extend", "total_infusions": "8", "by": "Dr. Test"}, headers=ORIGIN)
    assert no_reason.status_code == 400 and "required text is missing" in _error_of(no_reason.data,
                                                                                    "decision-reason")
    maintenance = client.post(f"/ui/course/{course_id}/decisions", data={
        "csrf_token": token, "decision": "maintenance", "interval_days": "28", "by": "Dr. Test"}, headers=ORIGIN)
    assert maintenance.status_code == 409 and b"cannot start maintenance while the course is induction" in \
        maintenance.data
    stopped = client.post(f"/ui/course/{course_id}/decisions", data={
        "csrf_token": token, "decision": "stop", "stop_reason": "patient-choice", "by": "Dr. Test"}, headers=ORIGIN)
    assert stopped.status_code == 303
    assert b'data-status="stopped"' in client.get("/ui/course").data


def test_another_patients_course_is_refused(stack):
    _client, _patient_id, course_id = _signed_course(stack, "KL-1002", "cookie-2")
    app, _runtime, ehr = stack
    other = signed_in(app, _patient(ehr, "KL-1003"), scope=SCOPE, cookie="cookie-3", iss=ehr.base_url)
    token = _csrf(other.get("/ui/orders/new").data)  # no course yet: no form on the course page
    refused = other.post(f"/ui/course/{course_id}/scores", data=_phq9_form(token, [0] * 9), headers=ORIGIN)
    assert refused.status_code == 403
    # The API: a patient-level token reaches only its patient's course (a user-level scope is not bound to one).
    patient_only = signed_in(app, _patient(ehr, "KL-1003"), scope="launch openid patient/*.rs", cookie="cookie-4",
                             iss=ehr.base_url)
    assert patient_only.get(f"/courses/{course_id}", headers={"Accept": "application/json"}).status_code == 403
    assert patient_only.get("/outcomes/export.csv").status_code == 403  # the export needs a user-level scope


def test_the_orders_home_links_the_course_page_which_takes_a_cssrs_and_a_referral(stack):
    client, _patient_id, course_id = _signed_course(stack, "KL-1001", "cookie-5")
    home = client.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    assert b'<a href="/ui/course" data-testid="course-link">' in home.data
    page = client.get("/ui/course")
    assert b'data-testid="cssrs-form"' in page.data and b'data-testid="referral-form"' in page.data
    token = _csrf(page.data)

    # The screener's skip logic: a follow-up question needs its screening question answered yes.
    gated = client.post(f"/ui/course/{course_id}/cssrs", data={
        "csrf_token": token, "by": "RN Test", "context": "pre-infusion", "wish-to-be-dead": "no",
        "suicidal-thoughts": "no", "ideation-with-method": "yes", "suicidal-behaviour-lifetime": "no"},
        headers=ORIGIN)
    assert gated.status_code == 400
    assert "suicidal-thoughts is no" in _error_of(gated.data, "cssrs-ideation-with-method")
    screened = client.post(f"/ui/course/{course_id}/cssrs", data={
        "csrf_token": token, "by": "RN Test", "context": "pre-infusion", "wish-to-be-dead": "yes",
        "suicidal-thoughts": "yes", "ideation-with-method": "yes", "ideation-with-intent": "no",
        "ideation-with-plan-and-intent": "no", "suicidal-behaviour-lifetime": "no"}, headers=ORIGIN)
    assert screened.status_code == 303 and screened.headers["Location"].endswith("?done=cssrs")
    page = client.get(screened.headers["Location"])
    assert b"The C-SSRS screener was recorded." in page.data and b'data-testid="alert"' in page.data

    no_reason = client.post(f"/ui/course/{course_id}/referrals", data={
        "csrf_token": token, "by": "Dr. Test", "kind": "psychotherapy", "reason": ""}, headers=ORIGIN)
    assert no_reason.status_code == 400 and "required text is missing" in _error_of(no_reason.data,
                                                                                    "referral-reason")
    referred = client.post(f"/ui/course/{course_id}/referrals", data={
        "csrf_token": token, "by": "Dr. Test", "kind": "psychotherapy", "reason": "CBT for relapse prevention",
        "performer": "Riverside Psychotherapy", "sessions_requested": "8"}, headers=ORIGIN)
    assert referred.status_code == 303
    page = client.get(referred.headers["Location"])
    assert b"The referral was recorded." in page.data and b"CBT for relapse prevention" in page.data
    referral_id = re.search(rb'data-referral-id="([^"]+)" data-status="active"', page.data).group(1).decode()
    closed = client.post(f"/ui/course/{course_id}/referrals/{referral_id}/close", data={
        "csrf_token": token, "by": "Dr. Test", "status": "completed"}, headers=ORIGIN)
    assert closed.status_code == 303
    page = client.get(closed.headers["Location"])
    assert f'data-referral-id="{referral_id}" data-status="completed"'.encode() in page.data
    again = client.post(f"/ui/course/{course_id}/referrals/{referral_id}/close", data={
        "csrf_token": token, "by": "Dr. Test", "status": "revoked"}, headers=ORIGIN)
    assert again.status_code == 409 and b"already completed" in again.data


def test_the_course_page_records_a_hospitalisation_or_suicide_attempt_in_clinic_time(stack):
    """Issue 13 defect 14: a suicide attempt or psychiatric hospitalisation (after remission a relapse) is recorded
    from the page; a 12-hour or unreadable time is refused next to its field."""
    client, _patient_id, course_id = _signed_course(stack, "KL-1001", "cookie-6")
    page = client.get("/ui/course")
    assert b'data-testid="clinical-event-form"' in page.data and b"None recorded." in page.data
    token = _csrf(page.data)
    form = {"csrf_token": token, "kind": "suicide-attempt", "detail": "seen in the emergency department",
            "by": "Dr. Test"}
    bad = client.post(f"/ui/course/{course_id}/clinical-events", data={**form, "occurred_at": "yesterday 5pm"},
                      headers=ORIGIN)
    assert bad.status_code == 400 and "24-hour time" in _error_of(bad.data, "event-occurred_at")
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M") + "Z"
    done = client.post(f"/ui/course/{course_id}/clinical-events", data={**form, "occurred_at": yesterday},
                       headers=ORIGIN)
    assert done.status_code == 303 and done.headers["Location"].endswith("?done=clinical-event")
    page = client.get(done.headers["Location"])
    assert b"The event was recorded." in page.data
    assert b'data-kind="suicide-attempt"' in page.data and b"seen in the emergency department" in page.data
    [event] = client.get(f"/courses/{course_id}", headers={"Accept": "application/json"}).json["clinical_events"]
    # recorded under the signed-in clinician, by reference, whatever the form's "by" said
    assert (event["kind"], event["recorded_by"]["display"]) == ("suicide-attempt", "Robin Nurse")
    assert event["recorded_by"]["reference"].startswith("Practitioner/")
