"""The suite board in Chromium: a nurse opens the board's own launch (``/launch/user/board``: SMART standalone with
documentation's default user-level read scopes, no patient picked), sees today's three sessions in their states
(infusing with its 15-min reading overdue, checked in, scheduled), and the board updates by itself when that reading
is charted at the chair (another launch, from the patient's chart); a row opens its session with that patient's
banner. One browser session for the module; axe on the board; screenshots at 1280, 1024x768 and a 1920x1080 wall
screen.

The board opened from the EHR without a patient: the nurse signs in to the sandbox EHR, works in a patient's chart
(a documentation launch for that patient), then opens the board from the workspace's Apps (``/chart/launch-user``:
a launch id with no patient and no encounter). The board's session has no patient and no banner, whatever the
earlier chart launch held (HZ-176); a row opens its session with that row's patient in the banner. The launch
binding holds: the board's launch id gives no patient to a patient-scoped launch of the same app and nothing to
another app, and a launch of the board from a patient's chart stays bound to that patient, so the board is refused
it and so is another patient's session page (HZ-177). Each of these in a fresh browser context."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine

from tests.browser.axe import assert_accessible
from tests.browser.conftest import DEMO_PASSWORD, launch_from_chart, sandbox_token, screenshot
from tests.integration.documentation.board_sessions import now_minute, store, three_states
from tests.integration.smart.support import Browser, query_of

pytestmark = pytest.mark.integration
APP = "documentation"
MRNS = ("KL-1002", "KL-1003", "KL-1004")
CHART_SCOPES = "launch openid fhirUser patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"
CLIENT_ID = f"ketalink-{APP}"
BOARD_BUTTON = "Suite board (Ketalink documentation)"  # the sandbox chart's workspace Apps


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

def _sign_in_to_the_ehr(page, smart_stack, user: str = "nurse.ng") -> None:
    page.goto(f"{smart_stack.ehr_root}/smart/login")
    page.get_by_label("User").select_option(user)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(smart_stack.chart_url)


def _open_the_board_from_the_workspace(page, smart_stack) -> str:
    """The workspace's Apps button → the board's launch with ``iss`` and ``launch`` → the EHR's approval (already
    signed in) → the board. Returns the launch id the EHR minted."""
    launched: list[str] = []
    page.on("request", lambda request: launched.append(request.url) if "/launch/user/board?" in request.url
            else None)
    page.goto(smart_stack.chart_url)
    page.get_by_role("button", name=BOARD_BUTTON).click()
    page.wait_for_url("**/smart/authorize**")
    assert page.get_by_test_id("no-patient").is_visible()  # said so, and no patient offered to pick
    assert page.locator('select[name="patient"]').count() == 0
    screenshot(page, "sandbox-authorize-board-from-workspace")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{smart_stack.services[APP]}/ui/board")
    [url] = launched
    assert set(query_of(url)) == {"iss", "launch"}
    return query_of(url)["launch"]


def _session_info(page, base: str) -> dict:
    answer = page.request.get(f"{base}/smart/session")
    assert answer.status == 200, answer.text()
    return answer.json()


def _family(smart_stack, patient_id: str) -> str:
    return smart_stack.ehr_client.read("Patient", patient_id)["name"][0]["family"]


def test_the_board_from_the_workspace_has_no_patient_and_a_row_opens_with_its_patient(board_page, smart_stack,
                                                                                       page):
    _board, base, patients = board_page
    launch_from_chart(page, smart_stack, APP, patients[0], "nurse.ng")  # signs in; at work in a patient's chart
    assert _session_info(page, base)["patient"] == patients[0]

    _open_the_board_from_the_workspace(page, smart_stack)
    context = _session_info(page, base)
    assert context["patient"] is None and context["encounter"] is None and context["need_patient_banner"] is False
    assert page.locator(".patient-banner").count() == 0  # no stale banner of the chart's patient
    states = {sid: page.locator(f'tr[data-session-id="{sid}"]').get_attribute("data-state")
              for sid in ("wall-a-1", "wall-b-1", "wall-c-1")}
    assert set(states) == {"wall-a-1", "wall-b-1", "wall-c-1"} and all(states.values())
    screenshot(page, "suite-board-from-workspace-1280")

    page.locator('tr[data-session-id="wall-b-1"]').get_by_test_id("board-open").click()
    page.wait_for_url(f"{base}/ui/sessions/wall-b-1")
    banner = page.locator(".patient-banner").first.inner_text()
    assert _family(smart_stack, patients[1]) in banner and _family(smart_stack, patients[0]) not in banner
    assert _session_info(page, base)["patient"] is None  # the row opened the page, not a patient-bound session


def test_the_board_s_launch_id_gives_no_patient_to_a_patient_launch_and_nothing_to_another_app(board_page,
                                                                                                smart_stack, page):
    _board, base, _patients = board_page
    _sign_in_to_the_ehr(page, smart_stack)
    launch_id = _open_the_board_from_the_workspace(page, smart_stack)
    relaunch = urlencode({"iss": smart_stack.ehr_base_url, "launch": launch_id})

    page.goto(f"{base}/launch?{relaunch}")  # the documentation app's own launch: patient/ scopes
    page.wait_for_url(f"{base}/callback**")
    assert "invalid_scope" in page.content() and "no patient" in page.content()
    assert _session_info(page, base)["patient"] is None  # still the board's session, no patient added

    orders = smart_stack.services["orders"]
    page.goto(f"{orders}/launch?{relaunch}")
    page.wait_for_url(f"{orders}/callback**")
    assert "another app" in page.content()
    assert page.request.get(f"{orders}/smart/session").status == 401  # no session in the orders app at all


def test_a_board_launch_from_a_patient_s_chart_is_refused_the_board_and_other_patients(board_page, smart_stack,
                                                                                      page):
    """The chart's launch id for the first patient, handed to the board's launch: the EHR keeps that patient in
    the grant (it is the chart's launch), the board refuses the patient-bound session, and so does another
    patient's session page; that patient's own session page opens."""
    _board, base, patients = board_page
    chart = Browser()
    to_app = chart.submit(chart.get(smart_stack.chart_url), where={"patient": patients[0], "app": CLIENT_ID},
                          allow_redirects=False)
    launch_id = query_of(to_app.headers["Location"])["launch"]
    page.goto(f"{base}/launch/user/board?{urlencode({'iss': smart_stack.ehr_base_url, 'launch': launch_id})}")
    page.wait_for_url("**/smart/login**")
    page.get_by_label("User").select_option("nurse.ng")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/smart/authorize**")
    assert page.get_by_test_id("no-patient").count() == 0
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{base}/ui/board")
    assert _session_info(page, base)["patient"] == patients[0]
    assert "bound to one patient" in page.content() and page.locator("tr[data-session-id]").count() == 0
    assert page.request.get(f"{base}/ui/board.json").status == 403
    assert page.request.get(f"{base}/ui/sessions/wall-b-1").status == 403  # another patient's session
    own = page.request.get(f"{base}/ui/sessions/wall-a-1")  # the bound patient's own session opens
    assert own.status == 200 and _family(smart_stack, patients[0]) in own.text()
