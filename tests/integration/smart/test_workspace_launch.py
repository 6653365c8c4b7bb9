"""A launch from the clinician's workspace in the EHR (the sandbox chart's "Apps", no patient open) through the real
sandbox: the documentation app as ``bootstrap.build`` wires it, in process, as the sandbox's registered
``ketalink-documentation`` (``test_user_level_launch``'s set-up), the EHR's steps taken over HTTP.

The suite board opened from the workspace gets no patient, no encounter and no banner, and lands on the board. Its
launch id is single-purpose: a patient-scoped launch with it is refused (the EHR never makes a patient up: HZ-176),
and so is another app's. A launch of the board from a patient's chart stays patient-bound and is refused the board
(HZ-177)."""
from __future__ import annotations

from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.integration.smart.support import Browser, forms, query_of
from tests.integration.smart.test_user_level_launch import BASE, CALLBACK, CLIENT_ID, PASSWORD, _get, _session
from tests.integration.smart import test_user_level_launch as user_level

app, patients = user_level.app, user_level.patients  # the same fixtures: the app in process, the seeded patients

pytestmark = pytest.mark.integration


def _chart(browser: Browser, ehr) -> tuple[object, str]:
    root = ehr.base_url.rsplit("/fhir", 1)[0]
    return browser.get(f"{root}/chart"), root


def _from_workspace(browser: Browser, ehr, page: str = "Suite board", app_id: str = CLIENT_ID) -> str:
    """Press the workspace's app button: the app's user-level launch URL with ``iss`` and a fresh ``launch``."""
    chart, _root = _chart(browser, ehr)
    opened = browser.submit(chart, where={"app": app_id, "user_launch": page}, allow_redirects=False)
    assert opened.status_code == 303, opened.text
    return opened.headers["Location"]


def _authorize(client: FlaskClient, browser: Browser, start: str, user: str = "nurse.ng"):
    """The app's launch → the sandbox's sign-in and approval page: (that page, its answer to Approve)."""
    started = _get(client, start)
    assert started.status_code == 302, started.get_data(as_text=True)
    page = browser.get(started.headers["Location"])
    if "/smart/login" in page.url:
        page = browser.submit(page, values={"username": user, "password": PASSWORD})
    return page


def _refused_at_the_ehr(browser: Browser, authorize_url: str):
    """The sandbox's answer to an authorization request that it refuses, signing in as nurse.ng on the way: the
    redirect to the app's callback, not followed (the app is not listening here)."""
    answer = browser.get(authorize_url, allow_redirects=False)
    if "/smart/login" in answer.headers.get("Location", ""):
        login = browser.get(urljoin(authorize_url, answer.headers["Location"]))
        signed_in = browser.submit(login, values={"username": "nurse.ng", "password": PASSWORD},
                                   allow_redirects=False)
        answer = browser.get(urljoin(authorize_url, signed_in.headers["Location"]), allow_redirects=False)
    return answer


def _callback(client: FlaskClient, location: str):
    parts = urlsplit(location)
    return _get(client, f"{parts.path}?{parts.query}")


def test_the_board_opened_from_the_workspace_has_no_patient_and_lands_on_the_board(app, ehr):
    client, browser = app.test_client(), Browser()
    location = _from_workspace(browser, ehr)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/launch/user/board"
    assert set(query_of(location)) == {"iss", "launch"} and query_of(location)["iss"] == ehr.base_url
    page = _authorize(client, browser, f"{parts.path}?{parts.query}")
    assert "/smart/authorize" in page.url and "no patient in context" in page.text
    assert "<select" not in page.text  # no patient picker either: nobody is chosen
    answer = browser.submit(page, button="approve", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(CALLBACK), answer.text
    landed = _callback(client, answer.headers["Location"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/ui/board"
    session = _session(app, client)
    assert session.patient is None and session.encounter is None and session.need_patient_banner is False
    assert "launch" in session.scope.split() and not any(s.startswith("patient/") for s in session.scope.split())
    board = _get(client, "/ui/board.json")
    assert board.status_code == 200, board.get_data(as_text=True)
    assert {row["session_id"] for row in board.get_json()["rows"]} == {"usr-a-1", "usr-b-1", "usr-c-1"}


def test_a_patient_scoped_launch_with_a_workspace_launch_id_gets_no_patient(app, ehr):
    """The documentation app's own EHR launch (``launch patient/*.cruds``) handed the board's launch id: the
    sandbox refuses it (invalid_scope) rather than pick a patient, and the app opens no session."""
    client, browser = app.test_client(), Browser()
    board_launch = query_of(_from_workspace(browser, ehr))
    start = f"/launch?iss={board_launch['iss']}&launch={board_launch['launch']}"
    started = _get(client, start)
    assert "patient/" in query_of(started.headers["Location"])["scope"]
    refused = _refused_at_the_ehr(browser, started.headers["Location"])
    assert refused.status_code == 302 and refused.headers["Location"].startswith(CALLBACK), refused.text
    answer = query_of(refused.headers["Location"])
    assert answer["error"] == "invalid_scope" and "no patient" in answer["error_description"]
    assert "code" not in answer
    failed = _callback(client, refused.headers["Location"])
    assert failed.status_code == 400 and "invalid_scope" in failed.get_data(as_text=True)
    smart = app.extensions["smart"]
    assert client.get_cookie(smart.cookie_name, domain=urlsplit(BASE).hostname) is None  # no session at all


def test_a_workspace_launch_id_is_good_for_its_own_app_only(ehr):
    """The board's launch id presented by the orders app (a registered client too): refused at the sandbox."""
    browser = Browser()
    board_launch = query_of(_from_workspace(browser, ehr))
    root = ehr.base_url.rsplit("/fhir", 1)[0]
    orders_callback = "http://127.0.0.1:8102/callback"
    query = {"response_type": "code", "client_id": "ketalink-orders", "redirect_uri": orders_callback,
             "scope": "launch openid fhirUser user/Encounter.rs", "state": "s-1", "aud": ehr.base_url,
             "launch": board_launch["launch"], "code_challenge": "x" * 43, "code_challenge_method": "S256"}
    refused = _refused_at_the_ehr(browser, f"{root}/smart/authorize?{urlencode(query)}")
    location = refused.headers.get("Location", "")
    assert refused.status_code == 302 and location.startswith(orders_callback), refused.text
    assert query_of(location)["error"] == "invalid_request"
    assert "another app" in query_of(location)["error_description"] and "code" not in query_of(location)


def test_a_board_launch_from_a_patient_s_chart_is_patient_bound_and_refused_the_board(app, ehr, patients):
    """The chart's patient launch id handed to the board's user-level launch: the grant keeps that patient (the
    EHR's launch says so), and the board, which spans patients, refuses the session."""
    client, browser = app.test_client(), Browser()
    chart, _root = _chart(browser, ehr)
    to_app = browser.submit(chart, where={"patient": patients[0], "app": CLIENT_ID}, allow_redirects=False)
    launch = query_of(to_app.headers["Location"])
    page = _authorize(client, browser, f"/launch/user/board?iss={launch['iss']}&launch={launch['launch']}")
    assert "no patient in context" not in page.text
    answer = browser.submit(page, button="approve", allow_redirects=False)
    landed = _callback(client, answer.headers["Location"])
    assert landed.status_code == 302 and landed.headers["Location"] == "/ui/board"
    assert _session(app, client).patient == patients[0]
    refused = _get(client, "/ui/board.json")
    assert refused.status_code == 403 and "bound to one patient" in refused.get_data(as_text=True)
    page = _get(client, "/ui/board", headers={"Accept": "text/html"})
    assert page.status_code == 403


def test_the_workspace_mints_launches_only_for_a_registered_app_s_own_pages(ehr):
    """A page the app did not register (or an app the EHR does not know) gets no launch id: 400, no redirect."""
    browser = Browser()
    chart, root = _chart(browser, ehr)
    [form] = [f for f in forms(chart.text) if f.fields.get("user_launch") == "Suite board"]
    for changed in ({"user_launch": "Everything"}, {"app": "ketalink-unknown"}, {"app": "ketalink-orders"}):
        answer = browser.http.post(f"{root}/chart/launch-user", data=form.fields | changed, allow_redirects=False)
        assert answer.status_code == 400 and "Location" not in answer.headers, changed
    without_form_token = {key: value for key, value in form.fields.items() if key != "csrf"}
    assert browser.http.post(f"{root}/chart/launch-user", data=without_form_token,
                             allow_redirects=False).status_code == 400
