"""The infusing page for a busy nurse, in Chromium against the real stack (EHR sandbox with its SMART server, broker,
the documentation service): the status strip refreshes by itself when a reading is charted elsewhere (no reload),
the vitals form is quick by keyboard with BP, heart rate and SpO2 required together, an error names the field by
its label, Back after a save shows the current page with a fresh form, and ending the infusion is confirmed first.

One session for the whole module (set up over the API with a real token, so only the page under test is driven in
the browser); the tests run in file order on it. Screenshots at 1280, 1024x768 and phone size; axe on each state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.browser.reflow import assert_fits_beside_tables
from tests.integration.documentation.clinic import Clinic, pre_check, vitals
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
APP = "documentation"
NURSE = "nurse.ng"
SIZES = {"1280": (1280, 900), "1024x768": (1024, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def infusing(smart_stack, browser) -> Any:
    """Session 1 of a new order for KL-1002, started 22 min ago over the API (so a reading was missed 7 min ago and
    the next is due in about 8 min), and a nurse's browser on its page."""
    clinic = Clinic(smart_stack.services[APP], smart_stack.bootstrap, SimpleNamespace(client=smart_stack.ehr_client))
    order = clinic.publish_signed_order("KL-1002")
    token = sandbox_token(smart_stack, APP, order.patient_id, "launch openid fhirUser patient/*.cruds", user=NURSE,
                          ehr_launch=True)
    headers = {"Authorization": f"Bearer {token}"}
    sid = order.session_id(1)
    wait_for(lambda: any(s["session_id"] == sid for s in clinic.call(
        "GET", f"/patients/{order.patient_id}/sessions", {}, headers=headers)["sessions"]),
        timeout_s=45, interval_s=0.5, what="the new order's sessions")
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def ago(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    path = f"/sessions/{sid}"
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": ago(35)}, headers=headers)
    clinic.post(f"{path}/pre-check", pre_check(ago(30), 124, 78), headers=headers)
    clinic.post(f"{path}/start", {"by": NURSE, "at": ago(22)}, headers=headers)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    launch_from_chart(page, smart_stack, APP, order.patient_id, NURSE)
    url = f"{smart_stack.services[APP]}/ui/sessions/{sid}"
    page.goto(url)
    yield SimpleNamespace(page=page, url=url, clinic=clinic, headers=headers, path=path, now=now)
    context.close()


def _strip(page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text().strip()


def _screenshots(page, name: str) -> None:
    """Shot at each size; on the phone, the forms fit (only the flowsheet, a data table, may widen the page)."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{size}")
        if size == "phone":
            assert_fits_beside_tables(page, name)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_status_strip_updates_without_a_reload_when_a_reading_is_charted_elsewhere(infusing):
    page = infusing.page
    strip = page.get_by_test_id("status-strip")
    assert strip.is_visible() and "Infusing for" in _strip(page, "strip-elapsed")
    next_reading = _strip(page, "strip-next-reading")
    assert "Next reading" in next_reading and " in " in next_reading  # HH:MM with the countdown
    assert _strip(page, "strip-missed").endswith("1") and _strip(page, "strip-alerts").endswith("0")
    assert strip.evaluate("e => getComputedStyle(e).position") == "sticky"
    assert_accessible(page, "infusing-page")
    _screenshots(page, "documentation-infusing")
    page.evaluate("() => { window.notReloaded = true; }")

    # Another nurse (or a device through the EHR) charts a reading that crosses the alert threshold.
    infusing.clinic.post(f"{infusing.path}/vitals", vitals(datetime.now(timezone.utc).isoformat(), 188, 106, 92),
                         expect=201, headers=infusing.headers)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=strip-alerts] [data-strip=open_alerts]').textContent === '1'",
        timeout=60000)  # the next poll (every 15 s) brings it
    assert page.evaluate("() => window.notReloaded") is True  # the same document: no reload
    assert page.get_by_test_id("strip-stale").is_visible()  # and the page says it is out of date
    assert "strip-alert" in (page.get_by_test_id("status-strip").get_attribute("class") or "")
    page.get_by_test_id("strip-stale").get_by_role("link").click()
    assert page.get_by_test_id("alert").first.get_attribute("role") == "alert"  # the alert at the top, as an alert
    assert page.get_by_test_id("alert").first.get_by_test_id("alert-action-form").is_visible()
    assert_accessible(page, "infusing-page-alert")
    _screenshots(page, "documentation-infusing-alert")
    action = page.get_by_test_id("alert-action-form").first
    action.get_by_label("Action taken").select_option("observed")
    action.get_by_label("Detail").fill("rechecked at rest, settling")
    action.get_by_role("button", name="Record the action").click()
    assert _strip(page, "strip-alerts").endswith("0")


def test_vitals_by_keyboard_with_bp_heart_rate_and_spo2_required_together(infusing):
    page = infusing.page
    page.goto(infusing.url)
    page.locator("body").focus()
    tabs = 0
    while page.evaluate("() => document.activeElement.name") != "systolic_mmhg" and tabs < 30:
        page.keyboard.press("Tab")
        tabs += 1
    print(f"Tab presses from the top of the page to Systolic: {tabs}")
    assert tabs <= 8  # header links, the banner's, then the vitals form first
    order = []
    for value in ("128", "82", "", "98"):  # heart rate left empty
        order.append(page.evaluate("() => document.activeElement.name"))
        page.keyboard.type(value)
        page.keyboard.press("Tab")
    for _ in range(2):  # respiratory rate, RASS
        order.append(page.evaluate("() => document.activeElement.name"))
        page.keyboard.press("Tab")
    order.append(page.evaluate("() => document.activeElement.name"))
    assert order == ["systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent",
                     "respiratory_rate_per_min", "rass_score", "at"]  # the time last
    form = page.get_by_test_id("vitals-form")
    prefilled = form.locator('input[name="at"]').input_value()
    shown = datetime.strptime(prefilled, "%Y-%m-%d %H:%M")
    assert abs(shown - datetime.strptime(form.locator('input[name="at_prefilled"]').input_value(),
                                         "%Y-%m-%d %H:%M")) == timedelta(0)
    before = page.url
    page.keyboard.press("Enter")  # the browser holds it: heart rate is required with BP and SpO2
    assert form.locator('input[name="heart_rate_per_min"]').evaluate("e => e.validity.valueMissing") is True
    assert page.url == before

    # Past the browser's check (all given), the server's rule names the field by its label.
    form.get_by_label("Heart rate").fill("76")
    form.get_by_label("Diastolic").fill("140")  # above systolic: refused by the service
    form.get_by_role("button", name="Record vital signs").click()
    summary = page.get_by_test_id("error-summary").inner_text()
    assert "Diastolic (mmHg)" in summary and "reading." not in summary and "diastolic_mmhg" not in summary
    screenshot(page, "documentation-infusing-vitals-error")


def test_back_after_a_save_shows_the_current_page_with_a_fresh_form(infusing):
    page = infusing.page
    page.goto(infusing.url)
    form = page.get_by_test_id("vitals-form")
    sent_id = form.locator('input[name="reading_id"]').input_value()
    for label, value in (("Systolic", "126"), ("Diastolic", "80"), ("Heart rate", "74"), ("SpO2", "97")):
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Record vital signs").click()
    page.wait_for_url("**notice=vitals**")
    assert page.locator(f'tr[data-reading-id="{sent_id}"]').count() == 1
    page.go_back()
    page.wait_for_load_state()
    assert "notice=" not in page.url  # the page before the save, fetched again (no-store), not a cached copy
    assert page.locator(f'tr[data-reading-id="{sent_id}"]').count() == 1  # with the reading just charted
    assert page.get_by_test_id("vitals-form").locator('input[name="reading_id"]').input_value() != sent_id
    assert page.get_by_test_id("vitals-form").get_by_label("Systolic").input_value() == ""


def test_ending_the_infusion_asks_for_confirmation(infusing):
    page = infusing.page
    page.goto(infusing.url)
    page.get_by_test_id("end-form").get_by_role("button", name="End the infusion").click()
    confirm = page.get_by_test_id("confirm-end")
    assert confirm.is_visible() and "End the infusion now?" in confirm.inner_text()
    assert page.get_by_test_id("session-status").text_content().strip() == "Infusing"  # nothing recorded yet
    assert_accessible(page, "infusing-page-confirm-end")
    _screenshots(page, "documentation-infusing-confirm-end")
    page.get_by_role("link", name="No, keep infusing").click()
    assert page.get_by_test_id("confirm-end").count() == 0
    page.get_by_test_id("end-form").get_by_role("button", name="End the infusion").click()
    page.get_by_role("button", name="Yes, end the infusion").click()
    assert page.get_by_test_id("session-status").text_content().strip() == "Recovering"
    assert "In recovery for" in _strip(page, "strip-elapsed") and "Discharge from" in _strip(page, "status-strip")
