"""The launches without a patient (``/launch/user/board``, ``/launch/user/ops``) through the real sandbox's SMART
authorization server: the documentation app as ``bootstrap.build`` wires it (in process, answering as the sandbox's
registered ``ketalink-documentation`` client: same client id and redirect URI), the browser's steps in the EHR
(sign-in, approval) taken over HTTP, the callback handed to the app with the launch cookie it set.

A nurse's board launch gets user-level scopes and no patient, and lands on the board with today's rows; a launch
from a patient's chart stays patient-bound and is refused the board; the operations page opens for IT support
(``ops.kim``, HL7 practitioner-role ``ict``) through its launch and is refused to a nurse through the same launch."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from deploy.ehr_sandbox.smart.settings import default_apps
from services.documentation.bootstrap import build
from shared.smart.scopes import ScopeContext, parse_scope
from shared.smart.sessions import digest
from shared.smart.settings import DEFAULT_BOARD_SCOPES, DEFAULT_OPS_SCOPES
from tests.integration.documentation.board_sessions import store, three_states
from tests.integration.smart.support import Browser, query_of
from tests.support.in_process import smart_service_runtime

pytestmark = pytest.mark.integration
APP = "documentation"
CLIENT_ID = f"ketalink-{APP}"
PASSWORD = "ketalink-sandbox"  # the sandbox's default demo password (EHR_SANDBOX_SMART_DEMO_PASSWORD)
MRNS = ("KL-1002", "KL-1003", "KL-1004")
HTML = {"Accept": "text/html"}
# where the sandbox's default registration of ketalink-documentation sends the browser back
[CALLBACK] = [app.redirect_uris[0] for app in default_apps() if app.client_id == CLIENT_ID]
BASE = CALLBACK.rsplit("/callback", 1)[0]


@pytest.fixture(scope="module")
def patients(ehr) -> tuple[str, ...]:
    return tuple(ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"] for mrn in MRNS)


@pytest.fixture
def app(tmp_path, monkeypatch, ehr, patients):
    monkeypatch.setenv("SMART_PUBLIC_BASE_URL", BASE)  # the redirect URI the sandbox has registered
    runtime = smart_service_runtime(APP, tmp_path, monkeypatch, ehr)
    flask_app, _handlers, _responses = build(runtime)
    orders, sessions = three_states(patients, "usr")
    store(runtime.engine, orders, sessions)
    return flask_app


def _get(client: FlaskClient, path: str, **kwargs):
    return client.get(path, base_url=BASE, **kwargs)


def _through_the_ehr(client: FlaskClient, start: str, user: str, chosen: dict[str, str] | None = None):
    """The app's launch → the sandbox's sign-in as ``user`` and approval → the app's callback: its answer."""
    started = _get(client, start)
    assert started.status_code == 302, started.get_data(as_text=True)
    browser = Browser()
    page = browser.get(started.headers["Location"])
    if "/smart/login" in page.url:
        page = browser.submit(page, values={"username": user, "password": PASSWORD})
    assert "/smart/authorize" in page.url and "Approve" in page.text, page.text
    answer = browser.submit(page, button="approve", values=chosen or {}, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(CALLBACK), answer.text
    parts = urlsplit(answer.headers["Location"])
    return _get(client, f"{parts.path}?{parts.query}")


def _session(app, client: FlaskClient):
    smart = app.extensions["smart"]
    return smart.store.get(digest(client.get_cookie(smart.cookie_name, domain=urlsplit(BASE).hostname).value))


def test_a_board_launch_grants_user_scopes_without_a_patient_and_opens_the_board(app):
    client = app.test_client()
    started = _get(client, "/launch/user/board")
    asked = query_of(started.headers["Location"])["scope"].split()
    assert "launch/patient" not in asked and "launch" not in asked
    assert all(parse_scope(s).context is ScopeContext.USER for s in asked if parse_scope(s))
    landed = _through_the_ehr(client, "/launch/user/board", "nurse.ng")
    assert landed.status_code == 302 and landed.headers["Location"] == "/ui/board"
    session = _session(app, client)
    assert session.patient is None and session.fhir_user and "/Practitioner/" in session.fhir_user
    granted = set(session.scope.split())
    assert granted == set(DEFAULT_BOARD_SCOPES.split())  # the sandbox granted what was asked, no more
    board = _get(client, "/ui/board.json")
    assert board.status_code == 200, board.get_data(as_text=True)
    assert {row["session_id"] for row in board.get_json()["rows"]} == {"usr-a-1", "usr-b-1", "usr-c-1"}
    page = _get(client, "/ui/board", headers=HTML)
    assert page.status_code == 200 and 'data-session-id="usr-a-1"' in page.get_data(as_text=True)
    # read-only: the board's session cannot chart, even on a row it shows
    charted = client.post("/sessions/usr-a-1/vitals", base_url=BASE, json={
        "at": "2026-12-07T10:00:00+00:00", "systolic_mmhg": 120, "diastolic_mmhg": 80, "heart_rate_per_min": 70,
        "spo2_percent": 98})
    assert charted.status_code == 403, charted.get_data(as_text=True)
    # a wall screen's session that has ended (lifetime, refresh refused, signed out) offers the board's own launch
    app.extensions["smart"].store.delete(session.session_hash)
    ended = _get(client, "/ui/board", headers=HTML)
    assert ended.status_code == 401 and 'href="/launch/user/board"' in ended.get_data(as_text=True)


def test_a_launch_from_a_patient_s_chart_stays_patient_bound_and_is_refused_the_board(app, ehr, patients):
    client = app.test_client()
    browser = Browser()
    chart = browser.get(f"{ehr.base_url.rsplit('/fhir', 1)[0]}/chart")
    to_app = browser.submit(chart, where={"patient": patients[0], "app": CLIENT_ID}, allow_redirects=False)
    parts = urlsplit(to_app.headers["Location"])
    assert parts.path == "/launch" and "launch=" in parts.query
    landed = _through_the_ehr(client, f"/launch?{parts.query}", "nurse.ng")
    assert landed.status_code == 302 and landed.headers["Location"] == "/"
    assert _session(app, client).patient == patients[0]
    refused = _get(client, "/ui/board.json")
    assert refused.status_code == 403 and "bound to one patient" in refused.get_data(as_text=True)


def test_the_operations_page_opens_for_it_support_through_its_launch(app):
    client = app.test_client()
    landed = _through_the_ehr(client, "/launch/user/ops", "ops.kim")
    assert landed.status_code == 302 and landed.headers["Location"] == "/ops"
    assert set(_session(app, client).scope.split()) == set(DEFAULT_OPS_SCOPES.split())
    page = _get(client, "/ops", headers=HTML)
    assert page.status_code == 200, page.get_data(as_text=True)
    # IT support is not a clinician: the board is not theirs
    assert _get(client, "/ui/board.json").status_code == 403


def test_the_operations_launch_by_a_nurse_is_refused_the_page(app):
    client = app.test_client()
    landed = _through_the_ehr(client, "/launch/user/ops", "nurse.ng")
    assert landed.headers["Location"] == "/ops"
    refused = _get(client, "/ops", headers=HTML)
    assert refused.status_code == 403 and "Operations role needed" in refused.get_data(as_text=True)


def test_a_view_the_app_does_not_offer_is_not_found(app):
    client = app.test_client()
    assert _get(client, "/launch/user/everything").status_code == 404
    assert _get(client, "/launch/user/ops").status_code == 302
