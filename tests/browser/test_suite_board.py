"""The suite board in Chromium: a nurse opens the board's own launch (``/launch/user/board``: SMART standalone with
documentation's default user-level read scopes, no patient picked), sees today's three sessions in their states
(infusing with its 15-min reading overdue, checked in, scheduled), and the board updates by itself when that reading
is charted at the chair (another launch, from the patient's chart); a row opens its session with that patient's
banner. One
browser session for the module; axe on the board; screenshots at 1280, 1024x768 and a
1920x1080 wall screen."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine

from tests.browser.axe import assert_accessible
from tests.browser.conftest import DEMO_PASSWORD, sandbox_token, screenshot
from tests.integration.documentation.board_sessions import now_minute, store, three_states

pytestmark = pytest.mark.integration
APP = "documentation"
MRNS = ("KL-1002", "KL-1003", "KL-1004")
CHART_SCOPES = "launch openid fhirUser patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"


@pytest.fixture(scope="module")
def board_page(smart_stack, browser):
    """The three sessions stored in the running service's database, and a browser signed in as nurse.ng through
    the board's launch (user-level scopes: the sandbox asks for no patient), landing on the board."""
    patients = tuple(smart_stack.patient_id(mrn) for mrn in MRNS)
    engine = create_engine(f"sqlite:///{smart_stack.services_data_dir / f'{APP}.db'}")
    orders, sessions = three_states(patients, "wall")
    store(engine, orders, sessions)
    engine.dispose()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    base = smart_stack.services[APP]
    page.goto(f"{base}/launch/user/board")
    page.wait_for_url("**/smart/login**")
    page.get_by_label("User").select_option("nurse.ng")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/smart/authorize**")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{base}/ui/board")
    yield page, base, patients
    context.close()


def _row(page, session_id: str):
    return page.locator(f'tr[data-session-id="{session_id}"]')


def test_the_board_shows_three_sessions_in_their_states_and_updates_when_a_reading_is_charted(board_page,
                                                                                               smart_stack):
    page, base, patients = board_page
    states = {session_id: _row(page, session_id).get_attribute("data-state")
              for session_id in ("wall-a-1", "wall-b-1", "wall-c-1")}
    assert states == {"wall-a-1": "infusing", "wall-b-1": "checked-in", "wall-c-1": "scheduled"}
    infusing = _row(page, "wall-a-1")
    assert "Chair 1" in infusing.inner_text() and "infusing" in infusing.inner_text().lower()
    assert infusing.get_by_test_id("board-overdue").is_visible()  # the 15-min reading, past its grace
    assert _row(page, "wall-c-1").get_by_test_id("board-state").inner_text().lower() == "scheduled"
    assert page.evaluate("document.activeElement.tagName") in ("BODY", "A")
    for _ in range(12):  # the rows' links are in the tab order, first cell of each row
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('board-open')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('board-open')")
    assert_accessible(page, "suite-board")
    screenshot(page, "suite-board-1280")
    page.set_viewport_size({"width": 1024, "height": 768})
    screenshot(page, "suite-board-1024x768")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # no sideways scrolling at the chair
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot(page, "suite-board-wall-1920x1080")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.evaluate("window.__notReloaded = true")
    overdue_at = now_minute() - timedelta(minutes=6)  # the 15-min due time of an infusion started 21 min ago
    reading = {"at": (overdue_at + timedelta(minutes=1)).isoformat(), "systolic_mmhg": 126, "diastolic_mmhg": 80,
               "heart_rate_per_min": 74, "spo2_percent": 98}
    refused = page.request.post(f"{base}/sessions/wall-a-1/vitals", data=reading)
    assert refused.status == 403, refused.text()  # the wall screen's session reads only
    at_the_chair = sandbox_token(smart_stack, APP, patients[0], CHART_SCOPES, user="nurse.ng", ehr_launch=True)
    charted = page.request.post(f"{base}/sessions/wall-a-1/vitals", data=reading,
                                headers={"Authorization": f"Bearer {at_the_chair}"})
    assert charted.status == 201, charted.text()
    infusing.get_by_test_id("board-overdue").wait_for(state="detached", timeout=30000)  # refreshed every 5 s
    assert page.evaluate("window.__notReloaded === true")  # updated in place, never reloaded
    assert "OVERDUE" not in _row(page, "wall-a-1").inner_text()


def test_a_board_that_cannot_refresh_says_so(board_page):
    page, _base, _patients = board_page
    stale = page.get_by_test_id("board-stale")
    assert stale.is_hidden()
    page.route("**/ui/board/rows", lambda route: route.abort())
    try:
        stale.wait_for(state="visible", timeout=30000)
        assert "NOT UPDATING" in stale.inner_text()
    finally:
        page.unroute("**/ui/board/rows")
    stale.wait_for(state="hidden", timeout=30000)  # the next refresh that works clears it


def test_a_row_opens_that_session_with_its_patient_in_the_banner(board_page, smart_stack):
    page, base, patients = board_page
    page.goto(f"{base}/ui/board")
    _row(page, "wall-b-1").get_by_test_id("board-open").click()
    page.wait_for_url(f"{base}/ui/sessions/wall-b-1")
    banner = page.locator(".patient-banner").first.inner_text()
    expected = smart_stack.ehr_client.read("Patient", patients[1])["name"][0]["family"]
    other = smart_stack.ehr_client.read("Patient", patients[0])["name"][0]["family"]
    assert expected in banner and other not in banner
    page.get_by_role("link", name="Suite board", exact=True).click()
    page.wait_for_url(f"{base}/ui/board")
