"""The documentation app in a real browser: a nurse opens it from the EHR sandbox's chart for a patient whose order
was just signed, charts infusion 1 from check-in to discharge (pre-check with a recheck, a hold and its override,
vitals with an alert and its action, CADSS, an adverse event, the administration record, a refused and then a
granted discharge); the nurse may not sign the note, dr.okoye (a prescriber) signs it with the attestation; the
EHR then holds the Encounter, Procedure, MedicationAdministration,
vital-sign Observations and the DocumentReference. Clinical times are backdated so nothing waits for the clock.

And the API's refusals with real tokens from the sandbox: none → 401, a scope the token lacks → 403, a token for
one patient on another patient's records → 403."""
from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo
from typing import Any

import pytest
import requests

from deploy.ehr_sandbox.integration_engine import ehr_resource_id
from shared.fhir.client import FhirNotFound
from shared.fhir.codes import identifier_system
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.browser.reflow import PHONE, assert_fits
from tests.integration.documentation.clinic import Clinic, PublishedOrder
from tests.support.clinic_zone import clinic_zone_of_the_tests
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
APP = "documentation"
NURSE = "nurse.ng"
NURSE_NAME = "Grace Ng, RN"


# --- helpers --------------------------------------------------------------------------------------------------------
def _clinic(stack) -> Clinic:
    return Clinic(stack.services["documentation"], stack.bootstrap, SimpleNamespace(client=stack.ehr_client))


def _clinical_times(hours_ago: float = 3):
    """``t(minutes)``: a wall-clock value in the clinic's zone ``minutes`` after a start in the past."""
    start = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).replace(second=0, microsecond=0)
    zone = ZoneInfo(clinic_zone_of_the_tests())
    return lambda minutes: (start + timedelta(minutes=minutes)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _in_ehr(stack, resource_type: str, kind: str, value: str, until: Any = None) -> dict:
    """The EHR's copy of a Ketalink resource (the integration engine stores it under an id derived from its
    identifier), once it is there and passes ``until``."""
    resource_id = ehr_resource_id(identifier_system(kind), value)

    def found() -> dict | None:
        try:
            resource = stack.ehr_client.read(resource_type, resource_id)
        except FhirNotFound:
            return None
        return resource if until is None or until(resource) else None

    return wait_for(found, timeout_s=30, what=f"{resource_type} {kind}|{value} in the EHR")


def _wait_for_session_row(page, session_id: str) -> None:
    """The order event reaches the service through the broker: reload the home page until its session is listed."""
    def listed() -> bool:
        if page.locator(f'tr[data-session-id="{session_id}"]').count():
            return True
        page.reload()
        return False

    wait_for(listed, timeout_s=45, interval_s=0.5, what=f"session {session_id} on the home page")


def _status(page) -> str:
    return page.get_by_test_id("session-status").text_content().strip()


def _fill(form, values: dict[str, str]) -> None:
    for label, value in values.items():
        form.get_by_label(label, exact=False).first.fill(value)


def _vitals(page, at: str, systolic: int, diastolic: int, heart_rate: int, spo2: float) -> str:
    """Record a reading from the flowsheet form; returns its reading id (the form's own, sent with it)."""
    form = page.get_by_test_id("vitals-form")
    reading_id = form.locator('input[name="reading_id"]').input_value()
    _fill(form, {"Measured at": at, "Systolic": str(systolic), "Diastolic": str(diastolic),
                 "Heart rate": str(heart_rate), "SpO2": f"{spo2:g}"})
    form.get_by_role("button", name="Record vital signs").click()
    page.wait_for_load_state()
    return reading_id


def _pre_check(page, at: str, systolic: int, diastolic: int, heart_rate: int = 76,
               cssrs_yes: tuple[str, ...] = (), not_ready: tuple[str, ...] = (), **extra: str) -> None:
    """Fill the pre-infusion check: the vitals, the last solid food 8 h and clear fluids 3 h before ``at`` (issue 13
    defect 18), every confirmation and site-readiness item yes (except ``not_ready``), the C-SSRS screener no to its
    always-asked items (yes to ``cssrs_yes``, follow-ups asked when their gate is yes), the pregnancy test negative,
    respiratory rate 14 and RASS 0 (required by default), ``extra`` fields by label (e.g. ``{"Resp. rate": "6"}``)."""
    form = page.get_by_test_id("pre-check-form")
    checked_at = datetime.strptime(at, "%Y-%m-%dT%H:%M")
    _fill(form, {"Systolic": str(systolic), "Diastolic": str(diastolic), "Heart rate": str(heart_rate),
                 "SpO2": "98", "Resp. rate": "14", "RASS": "0", "Measured at": at,
                 "Last solid food": (checked_at - timedelta(hours=8)).strftime("%Y-%m-%d %H:%M"),
                 "Last clear fluids": (checked_at - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"), **extra})
    always_asked = ("cssrs.wish_to_be_dead", "cssrs.suicidal_thoughts", "cssrs.suicidal_behaviour_lifetime")
    for fieldset in form.locator("fieldset.yes-no").all():
        name = fieldset.get_attribute("data-testid") or ""
        if name.startswith("cssrs."):
            if name.removeprefix("cssrs.") in cssrs_yes:
                fieldset.get_by_label("Yes", exact=True).check()
            elif name in always_asked or (name.endswith(("method", "intent")) and "suicidal_thoughts" in cssrs_yes):
                fieldset.get_by_label("No", exact=True).check()
        elif name.removeprefix("site_readiness.") in not_ready:
            fieldset.get_by_label("No", exact=True).check()
        else:
            fieldset.get_by_label("Yes", exact=True).check()
    # Both patients here are women of child-bearing age in the EHR: "not applicable" is not offered.
    assert form.get_by_label("Pregnancy check").locator('option[value="not-applicable"]').count() == 0
    form.get_by_label("Pregnancy check").select_option("negative")


def _token(stack, patient_id: str, scope: str) -> str:
    """An EHR launch from ``patient_id``'s chart, as this app is opened, narrowed to ``scope``."""
    return sandbox_token(stack, APP, patient_id, scope, user=NURSE, ehr_launch=True)


def _api(stack, path: str, token: str | None = None, method: str = "GET", json: dict | None = None):
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, f"{stack.services['documentation']}{path}", headers=headers, json=json,
                            timeout=20)


# --- the clinician's flow -------------------------------------------------------------------------------------------
def test_a_nurse_charts_an_infusion_to_a_signed_note_and_the_ehr_has_it(smart_stack, page, browser):
    clinic = _clinic(smart_stack)
    order: PublishedOrder = clinic.publish_signed_order("KL-1003")
    sid = order.session_id(1)
    t = _clinical_times(hours_ago=3)

    launch_from_chart(page, smart_stack, APP, order.patient_id, NURSE)
    _wait_for_session_row(page, sid)
    assert "Infusion sessions" in page.inner_text("h1")
    assert page.get_by_test_id("patient-banner").is_visible()
    banner = page.get_by_test_id("patient-banner").inner_text()
    assert "DOB: 1985-07-21" in banner and "MRN: KL-1003" in banner  # two identifiers on screen (defect 20)
    screenshot(page, "documentation-home")

    page.locator(f'tr[data-session-id="{sid}"] a').click()
    assert _status(page) == "Scheduled"
    screenshot(page, "documentation-session-scheduled")
    arrival = page.get_by_label("Arrival time")  # keyboard only: type the time, Enter submits the form
    arrival.fill(t(0))
    arrival.press("Enter")
    page.wait_for_url("**notice=checked-in**")
    assert page.get_by_test_id("notice").is_visible()

    # Pre-infusion check: high BP asks for a recheck; high again holds; the hold is overridden with a reason.
    page.get_by_role("link", name="Record the pre-infusion check").click()
    _pre_check(page, t(5), 150, 95)
    screenshot(page, "documentation-pre-check")
    page.get_by_role("button", name="Record the check").click()
    assert page.get_by_test_id("pre-check-outcome").get_attribute("data-outcome") == "recheck-required"
    assert "Recheck required" in page.get_by_test_id("pre-check-outcome").inner_text()
    screenshot(page, "documentation-pre-check-recheck")
    page.get_by_role("link", name="Record the recheck at rest").click()
    _pre_check(page, t(8), 146, 92)
    page.get_by_role("button", name="Record the check").click()
    outcome = page.get_by_test_id("pre-check-outcome")
    assert outcome.get_attribute("data-outcome") == "hold" and "HOLD" in outcome.inner_text()
    page.get_by_test_id("start-form").get_by_role("button", name="Start the infusion").click()  # refused: 409
    assert "above 140/90 mmHg on recheck at rest" in page.get_by_test_id("error-summary").inner_text()
    screenshot(page, "documentation-pre-check-hold")
    page.get_by_text("Override the vital-sign hold").click()
    override = page.get_by_test_id("override-form")
    _fill(override, {"Reason for the override": "BP reviewed with Dr Okoye: baseline for this patient", "Time": t(9)})
    override.get_by_role("button", name="Override the hold").click()
    start = page.get_by_test_id("start-form")
    _fill(start, {"Pump start time": t(10)})
    start.get_by_role("button", name="Start the infusion").click()
    assert _status(page) == "Infusing"

    # Flowsheet: readings, one crossing the alert threshold (shown in words and colour), then its action.
    _vitals(page, t(25), 138, 88, 84, 98)
    alert_reading = _vitals(page, t(40), 184, 100, 92, 97)
    assert "notice=vitals-alert" in page.url
    row = page.locator(f'tr[data-reading-id="{alert_reading}"]')
    assert "alert-row" in row.get_attribute("class") and "ALERT, open" in row.inner_text()
    assert page.get_by_test_id("missed-reading").count() > 0  # backdated: later times show as missed
    screenshot(page, "documentation-flowsheet-alert")
    action = page.get_by_test_id("alert-action-form")
    action.get_by_label("Action taken").select_option("rate-reduced")
    _fill(action, {"New pump rate": "50", "Detail": "BP rechecked", "Action time": t(41)})
    action.get_by_role("button", name="Record the action").click()
    assert "closed" in page.locator(f'tr[data-reading-id="{alert_reading}"]').inner_text()

    # CADSS (due 40 min after the start) on the 6-item form.
    assert "CADSS rating due" in page.get_by_test_id("due-summary").inner_text()
    page.get_by_role("link", name="rate with CADSS-6").first.click()
    cadss = page.get_by_test_id("cadss-form")
    for index, score in enumerate([1, 0, 2, 1, 0, 0]):
        cadss.locator(f'input[name="item_scores[{index}]"]').fill(str(score))
    _fill(cadss, {"Rated at": t(45)})
    screenshot(page, "documentation-cadss")
    cadss.get_by_role("button", name="Record the rating").click()
    assert page.url.endswith("#cadss") and "4 / 24" in page.locator("#cadss").inner_text()

    # An adverse event.
    page.get_by_role("link", name="Record an adverse event").click()
    event = page.get_by_test_id("adverse-event-form")
    event.get_by_label("Event", exact=True).select_option("nausea")
    event.get_by_label("Severity").select_option("mild")
    event.get_by_label("Outcome").select_option("resolved")
    _fill(event, {"Onset": t(30), "Action taken": "ondansetron 4 mg IV"})
    screenshot(page, "documentation-adverse-event")
    event.get_by_role("button", name="Record the event").click()
    assert "ondansetron 4 mg IV" in page.locator("#adverse-events").inner_text()

    # End of the infusion, recovery readings.
    end = page.get_by_test_id("end-form")
    _fill(end, {"Pump stop time": t(50)})
    end.get_by_role("button", name="End the infusion").click()
    page.get_by_role("button", name="Yes, end the infusion").click()  # confirmed first
    assert _status(page) == "Recovering"
    _vitals(page, t(65), 134, 84, 80, 98)
    _vitals(page, t(80), 132, 84, 78, 98)
    screenshot(page, "documentation-session-recovering")

    # Discharge too early and without the administration record: refused, each criterion named.
    page.get_by_role("link", name="Discharge", exact=True).click()
    discharge = page.get_by_test_id("discharge-form")
    _fill(discharge, {"Discharge assessment time": t(70)})
    discharge.locator("#mental_status_at_baseline-yes").check()
    discharge.locator("#escort_present-yes").check()
    for item in ("activity", "respiration", "circulation", "consciousness", "oxygen_saturation"):
        discharge.locator(f'select[name="aldrete.{item}"]').select_option("2")
    discharge.get_by_role("button", name="Discharge the patient").click()
    refused = page.get_by_test_id("discharge-refused").inner_text()
    assert "administration record missing" in refused and "observation: observed 20 min" in refused
    screenshot(page, "documentation-discharge-refused")

    # The administration record (start, stop and rate prefilled from the session and the order).
    page.get_by_role("link", name="Infusion 1 (Recovering)").click()
    page.get_by_role("link", name="Record the administration").click()
    administration = page.get_by_test_id("administration-form")
    assert administration.get_by_label("Pump started").input_value().replace(" ", "T") == t(10)
    # The rate reduction charted as the alert's action is already in the form (issue 13 defect 19).
    assert administration.locator('input[name="rate_changes[1].rate_ml_per_h"]').input_value() == "50"
    assert "rate change" in page.get_by_test_id("pump-changes").inner_text()
    _fill(administration, {"Ketamine lot number": "KET-2291",
                           "Reason the dose given differs": "rate reduced for a BP alert"})
    administration.get_by_label("Lot expiry").fill((date.today() + timedelta(days=300)).isoformat())
    screenshot(page, "documentation-administration")
    administration.get_by_role("button", name="Save the administration record").click()
    given = page.get_by_test_id("administration-given").inner_text()
    review = page.get_by_test_id("administration-review-form")
    _fill(review, {"Review comment": "short dose after the BP alert, accepted", "Review time": t(82)})
    review.get_by_role("button", name="I have reviewed given versus ordered").click()
    assert "Given versus ordered reviewed" in page.get_by_test_id("notice").inner_text()
    given_mg = given.split("Given ")[1].split(" mg")[0]

    # The end-of-recovery CADSS: not rated, with the reason (a scheduled rating needs one or the other).
    page.get_by_role("link", name="Rate CADSS (6 items)").click()
    not_rated = page.get_by_test_id("cadss-not-rated-form")
    not_rated.get_by_label("Scheduled timepoint not rated").select_option("end-of-recovery")
    _fill(not_rated, {"Why it was not rated": "patient asleep", "Recorded at": t(83)})
    not_rated.get_by_role("button", name="Record why it was not rated").click()

    page.get_by_role("link", name="Discharge", exact=True).click()
    discharge = page.get_by_test_id("discharge-form")
    _fill(discharge, {"Discharge assessment time": t(85)})
    discharge.locator("#mental_status_at_baseline-yes").check()
    discharge.locator("#escort_present-no").check()  # a taxi is booked: refused, and no override can change it
    for item in ("activity", "respiration", "circulation", "consciousness", "oxygen_saturation"):
        discharge.locator(f'select[name="aldrete.{item}"]').select_option("2")
    assert "No driving or operating machinery" in page.get_by_test_id("discharge-instructions").inner_text()
    discharge.get_by_label("Instructions given and acknowledged by the patient").check()
    _fill(discharge, {"Override reason": "taxi booked"})
    discharge.get_by_role("button", name="Discharge the patient").click()
    assert "escort: no responsible adult" in page.get_by_test_id("discharge-refused").inner_text()
    discharge = page.get_by_test_id("discharge-form")
    discharge.locator("#escort_present-yes").check()
    _fill(discharge, {"Escort’s name": "Sam Ng", "Relationship to the patient": "brother", "Override reason": ""})
    discharge.get_by_label("Instructions given and acknowledged by the patient").check()
    screenshot(page, "documentation-discharge-screen")
    discharge.get_by_role("button", name="Discharge the patient").click()
    assert _status(page) == "Discharged"
    criteria = page.get_by_test_id("discharge-criteria").inner_text()
    assert criteria.count("met") == 6 and "not met" not in criteria
    screenshot(page, "documentation-session-discharged")

    # The next-day follow-up call, requested at discharge (a FHIR Task), and the controlled-substance record.
    page.get_by_role("link", name="Discharge and follow-up call").click()
    assert "requested" in page.get_by_test_id("follow-up-call").inner_text()
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)  # the call's form (a select of long outcomes) fits a phone
    assert_fits(page, "discharge page with the follow-up call form")
    page.set_viewport_size(desktop)
    page.get_by_role("link", name="Infusion 1 (Discharged)").click()
    page.get_by_role("link", name="Controlled-substance record (needed to sign)").click()
    record = page.get_by_test_id("controlled-substance-form")
    assert float(record.get_by_label("Given").input_value()) == float(given_mg)  # the record's computed dose
    assert record.get_by_label("Lot number").input_value() == "KET-2291"
    _fill(record, {"Product": "ketamine 10 mg/mL injection", "Drawn": str(float(given_mg) + 10), "Wasted": "10",
                   "Waste witnessed at": t(86)})
    witness = record.get_by_label("Witness from the EHR")
    assert witness.locator("option").count() > 1  # the sandbox's clinicians are Practitioners from the start
    witness.select_option(index=1)  # a clinician of the EHR other than the nurse signed in
    screenshot(page, "documentation-controlled-substance")
    record.get_by_role("button", name="Save the controlled-substance record").click()
    screenshot(page, "documentation-controlled-substance-saved")
    assert "Controlled-substance record saved" in page.get_by_test_id("notice").inner_text()

    # The note: preview, draft, edit, sign; then it is read-only.
    page.get_by_role("link", name="Procedure note").click()
    assert "KETAMINE INFUSION PROCEDURE NOTE" in page.get_by_test_id("note-preview").inner_text()
    screenshot(page, "documentation-note-preview")
    page.get_by_role("button", name="Create the draft note").click()
    text = page.get_by_label("Note text")
    text.fill(text.input_value() + "\nPatient tolerated the infusion well.")
    screenshot(page, "documentation-note-draft")
    page.get_by_role("button", name="Save the draft").click()
    # Signing is for prescribers (defect 21): the nurse is refused with the reason, the draft stays a draft
    page.get_by_test_id("attestation").check()
    page.get_by_role("button", name="Sign the note").click()
    assert "Only a prescriber may sign a note" in page.inner_text("main")
    screenshot(page, "documentation-note-sign-refused-nurse")
    prescriber = browser.new_context(viewport={"width": 1280, "height": 900})
    page = prescriber.new_page()
    launch_from_chart(page, smart_stack, APP, order.patient_id, "dr.okoye")
    page.goto(f"{smart_stack.services[APP]}/ui/sessions/{sid}/note")
    page.get_by_test_id("attestation").check()
    page.get_by_role("button", name="Sign the note").click()
    signed = page.get_by_test_id("note-signed").inner_text()
    assert "Signed by Dr. Adaeze Okoye" in signed
    assert "Patient tolerated the infusion well." in page.get_by_test_id("note-text").inner_text()
    assert page.get_by_label("Note text").count() == 0
    screenshot(page, "documentation-note-signed")
    page.go_back()  # the note page as it was before signing: fetched again (no-store), it offers no second signing
    page.wait_for_load_state()
    assert page.get_by_test_id("note-signed").count() == 1
    assert page.get_by_role("button", name="Sign the note").count() == 0

    # The EHR has the visit, the infusion, what was given, the vitals and the signed note.
    encounter = _in_ehr(smart_stack, "Encounter", "infusion-session", sid, until=lambda r: r["status"] == "finished")
    assert encounter["subject"]["reference"] == f"Patient/{order.patient_id}"
    _in_ehr(smart_stack, "Procedure", "infusion", sid, until=lambda r: r["status"] == "completed")
    medication_request = _in_ehr(smart_stack, "MedicationRequest", "order", order.order_id)
    given = _in_ehr(smart_stack, "MedicationAdministration", "infusion-administration", sid,
                    until=lambda r: "extension" in r)  # with the controlled-substance amounts
    assert given["request"]["reference"] == f"MedicationRequest/{medication_request['id']}"
    assert given["dosage"]["dose"]["value"] == pytest.approx(float(given_mg), abs=0.05)  # after the rate change
    assert _in_ehr(smart_stack, "Task", "follow-up-call", sid)["status"] == "requested"
    blood_pressure = _in_ehr(smart_stack, "Observation", "vital-sign", f"{sid}/{alert_reading}/bp")
    assert [c["valueQuantity"]["value"] for c in blood_pressure["component"]] == [184, 100]
    document = _in_ehr(smart_stack, "DocumentReference", "procedure-note", f"{sid}-note-v1",
                       until=lambda r: r["docStatus"] == "final")
    note_text = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert note_text.endswith("Patient tolerated the infusion well.")
    prescriber.close()


# --- the API's refusals ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scheduled(smart_stack) -> PublishedOrder:
    """A signed order for KL-1001, its sessions scheduled in the service (read with a real token)."""
    clinic = _clinic(smart_stack)
    order = clinic.publish_signed_order("KL-1001")
    token = _token(smart_stack, order.patient_id, "launch openid fhirUser patient/Encounter.rs")
    wait_for(lambda: len([s for s in _api(smart_stack, f"/patients/{order.patient_id}/sessions", token).json()
                          ["sessions"] if s["order_id"] == order.order_id]) == 6,
             timeout_s=45, interval_s=0.5, what="the sessions of the KL-1001 order")
    return order


def test_the_pre_check_screen_holds_for_low_vitals_site_not_ready_and_a_high_risk_cssrs_until_reviewed(
        smart_stack, page):
    """Issue 13 defects 5, 8 and site readiness on the pre-check screen: BP 82/48, HR 38, RR 6 hold; an item of the
    clinic's checklist not ready holds (no override); a high-risk C-SSRS needs the signed-in clinician's review
    before the infusion starts."""
    clinic = _clinic(smart_stack)
    order: PublishedOrder = clinic.publish_signed_order("KL-1001")
    sid = order.session_id(1)
    t = _clinical_times(hours_ago=2)
    launch_from_chart(page, smart_stack, APP, order.patient_id, NURSE)
    _wait_for_session_row(page, sid)
    page.locator(f'tr[data-session-id="{sid}"] a').click()
    arrival = page.get_by_label("Arrival time")
    arrival.fill(t(0))
    arrival.press("Enter")
    page.wait_for_url("**notice=checked-in**")

    page.get_by_role("link", name="Record the pre-infusion check").click()
    form = page.get_by_test_id("pre-check-form")
    assert form.get_by_test_id("cssrs-fieldset").is_visible() and form.get_by_label("RASS").is_visible()
    for required in ("Resp. rate", "RASS"):  # required by default (DOCUMENTATION_PRE_CHECK_REQUIRED_READINGS)
        assert form.get_by_label(required).get_attribute("required") is not None
    assert "airway management" in form.get_by_test_id("site-readiness-fieldset").inner_text()
    _pre_check(page, t(5), 82, 48, heart_rate=38, cssrs_yes=("suicidal_thoughts", "ideation_with_intent"),
               not_ready=("airway-equipment-checked",), **{"Resp. rate": "6", "RASS": "0"})
    screenshot(page, "documentation-pre-check-safety")
    page.get_by_role("button", name="Record the check").click()
    outcome = page.get_by_test_id("pre-check-outcome")
    assert outcome.get_attribute("data-outcome") == "hold"
    text = outcome.inner_text()
    for reason in ("systolic 82 mmHg below 90 mmHg", "heart rate 38/min below 50/min",
                   "respiratory rate 6/min below 10/min", "site not ready: airway equipment and suction checked"):
        assert reason in text
    risk = page.get_by_test_id("suicide-risk")
    assert page.get_by_test_id("cssrs-risk").inner_text() == "high" and "Review needed" in risk.inner_text()
    screenshot(page, "documentation-pre-check-safety-hold")

    review = page.get_by_test_id("suicide-risk-review-form")
    review.get_by_label("Decision").select_option("proceed")
    _fill(review, {"Review note": "Seen at the chair: no plan today, safety plan and supports reviewed",
                   "Time": t(7)})
    review.get_by_role("button", name="Record the review").click()
    assert f"Reviewed by {NURSE_NAME}" in page.get_by_test_id("suicide-risk-review").inner_text()

    page.get_by_role("link", name="Record another pre-infusion check").click()
    _pre_check(page, t(9), 124, 78, **{"Resp. rate": "14", "RASS": "0"})
    page.get_by_role("button", name="Record the check").click()
    assert page.get_by_test_id("pre-check-outcome").get_attribute("data-outcome") == "cleared"
    start = page.get_by_test_id("start-form")
    _fill(start, {"Pump start time": t(10)})
    start.get_by_role("button", name="Start the infusion").click()
    assert _status(page) == "Infusing"
    screenshot(page, "documentation-pre-check-safety-started")


def test_the_api_without_a_token_answers_401(smart_stack, scheduled):
    listed = _api(smart_stack, f"/patients/{scheduled.patient_id}/sessions")
    assert listed.status_code == 401 and listed.headers["WWW-Authenticate"].startswith('Bearer realm="ketalink"')
    assert listed.json()["resourceType"] == "OperationOutcome"
    vitals = _api(smart_stack, f"/sessions/{scheduled.session_id(1)}/vitals", method="POST",
                  json={"by": "x", "systolic_mmhg": 120, "diastolic_mmhg": 80})
    assert vitals.status_code == 401
    assert requests.get(f"{smart_stack.services['documentation']}/healthz", timeout=10).status_code == 200


def test_a_token_without_the_scope_gets_403(smart_stack, scheduled):
    token = _token(smart_stack, scheduled.patient_id, "launch openid fhirUser patient/Encounter.rs")
    sid = scheduled.session_id(1)
    assert _api(smart_stack, f"/sessions/{sid}", token).status_code == 200  # Encounter.r: granted
    refused = _api(smart_stack, f"/sessions/{sid}/vitals", token, "POST",
                   {"by": "x", "systolic_mmhg": 120, "diastolic_mmhg": 80})
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert _api(smart_stack, f"/sessions/{sid}/note-preview", token).status_code == 403  # DocumentReference.r
    assert _api(smart_stack, f"/sessions/{sid}/check-in", token, "POST", {"by": "x"}).status_code == 403  # .u


def test_a_token_for_one_patient_cannot_touch_another_patients_sessions(smart_stack, scheduled):
    clinic = _clinic(smart_stack)
    other_patient = clinic.patient_id("KL-1002")
    token = _token(smart_stack, other_patient, "launch openid fhirUser patient/*.cruds")
    assert _api(smart_stack, f"/patients/{other_patient}/sessions", token).status_code == 200  # its own patient
    listed = _api(smart_stack, f"/patients/{scheduled.patient_id}/sessions", token)
    assert listed.status_code == 403 and "another patient" in listed.json()["issue"][0]["diagnostics"]
    sid = scheduled.session_id(1)
    assert _api(smart_stack, f"/sessions/{sid}", token).status_code == 403
    assert _api(smart_stack, f"/sessions/{sid}/check-in", token, "POST", {"by": "x"}).status_code == 403
    own = _token(smart_stack, scheduled.patient_id, "launch openid fhirUser patient/Encounter.rs")
    assert _api(smart_stack, f"/sessions/{sid}", own).json()["status"] == "scheduled"  # nothing was changed
