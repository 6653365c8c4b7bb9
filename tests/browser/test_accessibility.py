"""Accessibility: axe-core on every clinician page of the three services and the sandbox chart, with screenshots
at a desktop width, a 1024x768 chair-side screen and a phone (test-artifacts/screenshots/<page>-<size>.png)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from shared.events.topics import INTAKE_EVENTS
from tests.browser.axe import assert_accessible
from tests.browser.token_clinic import TokenClinic
from tests.browser.conftest import DEMO_PASSWORD, sandbox_token, screenshot
from tests.integration.documentation.charting import document_to_discharge, new_patient
from tests.integration.documentation.clinic import NURSE, clinical_times, pre_check, vitals
from tests.integration.orders.support import eligibility_message
from tests.support.kafka_tools import publish, wait_for
from tests.support.clinic_zone import clinic_today

SIZES = {"1280": {"width": 1280, "height": 900}, "1024x768": {"width": 1024, "height": 768},
         "phone": {"width": 390, "height": 844}}
# axe's rules read the DOM and computed styles, which the width barely changes (contrast, names, labels, ids): one
# size keeps the module lean (about 1 s of axe per page under load); the other two are screenshots for a reviewer.
AXE_SIZES = ("1280",)
OPS_USER = "ops.kim"  # the sandbox's IT support (HL7 practitioner-role ict): the operations pages' default role
USER = "dr.okoye"  # a prescriber: every clinician page opens for them (the nurse is refused the prescriber's pages)
SCOPES = "launch openid fhirUser online_access patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"
APPS = ("intake", "orders", "documentation")

BROKEN_PAGE = """<!doctype html><html><head><title>Broken</title></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form><input type="text" name="weight"><button></button></form>
<p style="color:#bbb;background:#fff">Pale text</p></body></html>"""


@pytest.fixture
def blank_page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_the_axe_check_fails_on_a_page_with_an_unlabelled_image_field_and_button(blank_page) -> None:
    blank_page.set_content(BROKEN_PAGE)
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_accessible(blank_page, "deliberately-broken")
    message = str(failure.value)
    for rule in ("image-alt", "label", "button-name", "color-contrast"):
        assert f"- {rule} [" in message, message
    assert "help: https://dequeuniversity.com/rules/axe/" in message


def test_the_axe_check_passes_the_same_page_made_accessible(blank_page) -> None:
    fixed = (BROKEN_PAGE.replace("<html>", '<html lang="en">').replace("<img ", '<img alt="Clinic logo" ')
             .replace('<input type="text"', '<label for="w">Weight (kg)</label><input id="w" type="text"')
             .replace("<button></button>", "<button>Save</button>").replace("#bbb", "#555")
             .replace("<body>", "<body><main><h1>Fixed</h1>").replace("</body>", "</main></body>"))
    blank_page.set_content(fixed)
    result = assert_accessible(blank_page, "deliberately-fixed")
    assert {rule["id"] for rule in result["passes"]} >= {"image-alt", "label", "button-name", "color-contrast"}


# --- every page of the running stack ----------------------------------------------------------------------------------
@dataclass
class ClinicPages:
    patient_id: str
    pages: dict[str, str]  # page name → URL, in the order a clinic day meets them


def _bearer_json(token: str, method: str, url: str, body: dict | None = None, expect: int = 200) -> Any:
    answer = requests.request(method, url, json=body, timeout=30,
                              headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert answer.status_code == expect, f"{method} {url}: {answer.status_code} {answer.text}"
    return answer.json()


def _documentation(stack, patient_id: str, mrn: str) -> dict[str, str]:
    """Infusion 1 charted to discharge with a draft note, infusion 2 infusing, infusion 3 checked in."""
    token = sandbox_token(stack, "documentation", patient_id, SCOPES, user=USER, ehr_launch=True)
    app = stack.services["documentation"]
    clinic = TokenClinic(app, stack.bootstrap, SimpleNamespace(client=stack.ehr_client), token)
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    done, infusing, checked_in = (order.session_id(n) for n in (1, 2, 3))
    t = clinical_times(hours_ago=6)
    document_to_discharge(clinic, order, f"/sessions/{done}", t)
    clinic.post(f"/sessions/{done}/notes", {"by": USER, "at": t(90)}, expect=201)
    later = clinical_times(hours_ago=1)
    early = {"by": NURSE, "override_reason": "the accessibility check charts three infusions on one day"}
    clinic.post(f"/sessions/{infusing}/check-in", {**early, "at": later(0)})
    clinic.post(f"/sessions/{infusing}/pre-check", pre_check(later(5), 128, 82, reading_id="pre-a11y"))
    clinic.post(f"/sessions/{infusing}/start", {"by": NURSE, "at": later(10)})
    clinic.post(f"/sessions/{infusing}/vitals", vitals(later(25), 132, 84, 80, reading_id="r-a11y"), expect=201)
    clinic.post(f"/sessions/{checked_in}/check-in", {**early, "at": later(30)})
    ui = f"{app}/ui/sessions"
    return {"documentation-home": f"{app}/", "documentation-pre-check": f"{ui}/{checked_in}/pre-check",
            "documentation-session-infusing": f"{ui}/{infusing}", "documentation-session-discharged": f"{ui}/{done}",
            "documentation-cadss": f"{ui}/{done}/cadss", "documentation-adverse-event": f"{ui}/{done}/adverse-events",
            "documentation-administration": f"{ui}/{done}/administration",
            "documentation-controlled-substance": f"{ui}/{done}/controlled-substance",
            "documentation-discharge": f"{ui}/{done}/discharge", "documentation-note": f"{ui}/{done}/note",
            "documentation-not-in-ehr": f"{app}/ui/not-in-ehr"}


def _orders(stack, patient_id: str) -> dict[str, str]:
    """The patient eligible, an induction order signed (its course started)."""
    token = sandbox_token(stack, "orders", patient_id, SCOPES, user=USER, ehr_launch=True)
    app = stack.services["orders"]
    message = eligibility_message(patient_id, "eligible", "active")
    intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
    publish(stack.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    wait_for(lambda: requests.get(f"{app}/patients/{patient_id}/eligibility", timeout=10,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
                                  ).json().get("intake_id") == intake_id,
             timeout_s=30, what="the eligibility decision in orders")
    order = _bearer_json(token, "POST", f"{app}/orders", {"patient_id": patient_id, "created_by": USER,
                                                         "start_date": clinic_today().isoformat()}, expect=201)
    _bearer_json(token, "POST", f"{app}/orders/{order['order_id']}/sign", {"signed_by": USER, "attested": True})
    return {"orders-home": f"{app}/", "orders-new": f"{app}/ui/orders/new",
            "orders-review": f"{app}/ui/orders/{order['order_id']}", "course": f"{app}/ui/course",
            "course-questionnaires": f"{app}/ui/course/questionnaires",
            "orders-not-in-ehr": f"{app}/ui/not-in-ehr"}


def _intake(stack, patient_id: str) -> dict[str, str]:
    token = sandbox_token(stack, "intake", patient_id, SCOPES, user=USER, ehr_launch=True)
    app = stack.services["intake"]
    intake = _bearer_json(token, "POST", f"{app}/intakes", {"patient_id": patient_id}, expect=201)
    return {"intake-home": f"{app}/", "intake": f"{app}/ui/intakes/{intake['intake_id']}",
            "intake-decision": f"{app}/ui/intakes/{intake['intake_id']}/decision",
            "intake-not-in-ehr": f"{app}/ui/not-in-ehr"}


@pytest.fixture(scope="module")
def clinic_pages(smart_stack) -> ClinicPages:
    """A patient of this module with an intake, a signed order (its course) and three infusions in different
    states, set up through the services' APIs with real tokens."""
    patient_id, mrn = new_patient(smart_stack.ehr_client, family="Axe")
    pages = {"sandbox-chart": smart_stack.chart_url,
             "sandbox-order-entry": f"{smart_stack.ehr_root}/chart/order/{patient_id}"}
    pages |= _intake(smart_stack, patient_id) | _orders(smart_stack, patient_id)
    pages |= _documentation(smart_stack, patient_id, mrn)
    return ClinicPages(patient_id, pages)


@pytest.fixture(scope="module")
def staff_page(browser, smart_stack) -> Iterator[Any]:
    """A browser context for the pages without a patient, each opened through its own SMART launch
    (``/launch/user/<view>``, user-level scopes): each service's /ops page as the sandbox's IT support (``ops.kim``,
    HL7 ``ict``: one EHR sign-in, then an approval per app), and documentation's suite board afterwards as
    ``nurse.ng`` in a second context of its own (``board_page``)."""
    context = browser.new_context(viewport=SIZES["1280"])
    context.set_default_timeout(20000)
    page = context.new_page()
    try:
        for number, app in enumerate(APPS):
            _user_launch(page, f"{smart_stack.services[app]}/launch/user/ops", OPS_USER if number == 0 else None)
            page.wait_for_url(f"{smart_stack.services[app]}/ops")
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def board_page(browser, smart_stack) -> Iterator[Any]:
    """The suite board through its launch (``/launch/user/board``) by a nurse (a board role; IT support has none)."""
    context = browser.new_context(viewport=SIZES["1280"])
    context.set_default_timeout(20000)
    page = context.new_page()
    try:
        _user_launch(page, f"{smart_stack.services['documentation']}/launch/user/board", "nurse.ng")
        page.wait_for_url(f"{smart_stack.services['documentation']}/ui/board")
        yield page
    finally:
        context.close()


def _user_launch(page: Any, url: str, user: str | None) -> None:
    """A user-level launch: the EHR's sign-in as ``user`` (None: already signed in there) and approval."""
    page.goto(url)
    if user:
        page.wait_for_url("**/smart/login**")
        page.get_by_label("User").select_option(user)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/smart/authorize**")
    page.get_by_role("button", name="Approve").click()


@pytest.fixture(scope="module")
def signed_in(browser, smart_stack, clinic_pages) -> Iterator[Any]:
    """One browser context signed in to the three apps from the patient's chart (one EHR sign-in, then an
    approval per app); the sandbox's sign-in and approval pages are checked on the way."""
    context = browser.new_context(viewport=SIZES["1280"])
    context.set_default_timeout(20000)
    page = context.new_page()
    for number, app in enumerate(APPS):
        page.goto(smart_stack.chart_url)
        page.locator(f'tr[data-patient-id="{clinic_pages.patient_id}"] button[data-launch="ketalink-{app}"]').click()
        if number == 0:
            page.wait_for_url("**/smart/login**")
            assert_accessible(page, "sandbox-sign-in")
            page.get_by_label("User").select_option(USER)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/smart/authorize**")
        if number == 0:
            assert_accessible(page, "sandbox-approve")
        page.get_by_role("button", name="Approve").click()
        page.wait_for_url(f"{smart_stack.services[app]}/")
    yield page
    context.close()


@pytest.mark.integration
@pytest.mark.parametrize("size", list(SIZES))
def test_every_clinician_page_has_no_serious_accessibility_violation(signed_in, staff_page, board_page,
                                                                     clinic_pages, smart_stack, size):
    """Each page once per size: a full-page screenshot, and axe-core on it at the AXE_SIZES; every page's
    findings are collected before the test fails, so one run names them all."""
    visits = [(signed_in, name, url) for name, url in clinic_pages.pages.items()]
    visits += [(staff_page, f"{app}-ops", f"{smart_stack.services[app]}/ops") for app in APPS]
    visits.append((board_page, "suite-board-all", f"{smart_stack.services['documentation']}/ui/board"))
    for page in (signed_in, staff_page, board_page):
        page.set_viewport_size(SIZES[size])
    failures = []
    for page, name, url in visits:
        answer = page.goto(url)
        assert answer is not None and answer.ok, (
            f"{name}: {url} answered {answer and answer.status}: {page.inner_text('body')[:600]}")
        screenshot(page, f"{name}-{size}")
        if size in AXE_SIZES:
            try:
                assert_accessible(page, f"{name}-{size}")
            except pytest.fail.Exception as failure:
                failures.append(str(failure))
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.mark.integration
def test_a_form_refused_with_its_errors_has_no_serious_accessibility_violation(signed_in, clinic_pages):
    """The error state every form shares (the layout's error summary linking to the fields, the fields' messages):
    the infusing session's vitals form sent empty past the browser's own checks, refused by the server."""
    page = signed_in
    page.set_viewport_size(SIZES["1280"])
    page.goto(clinic_pages.pages["documentation-session-infusing"])
    form = page.get_by_test_id("vitals-form")
    form.evaluate("f => { f.noValidate = true; }")
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()
    assert page.get_by_test_id("error-summary").is_visible()
    screenshot(page, "documentation-vitals-refused-1280")
    assert_accessible(page, "documentation-vitals-refused-1280")
