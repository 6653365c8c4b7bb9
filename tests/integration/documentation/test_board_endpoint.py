"""The suite board's page, its refresh fragment and its JSON with SMART on: the app as ``bootstrap.build`` wires it,
against the real EHR sandbox (seeded patients KL-1002..KL-1004, clinicians with their PractitionerRoles), today's
sessions stored as the domain's steps leave them, SMART sessions put into the store as the launch callback would.

Who may see it: a launch without a patient (user-level scopes) by a clinician the EHR gives a board role; a
patient-bound launch is refused (it reaches its own patient only), so is a user without a board role and a request
without credentials. A row opens the session's page with that session's patient in the banner."""
from __future__ import annotations

import re

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.documentation.bootstrap import build
from services.documentation.ui.board import patient_label
from tests.integration.documentation.board_sessions import store, three_states
from tests.support.in_process import smart_service_runtime
from tests.support.practitioners import clinician, registered_nurse
from tests.support.smart_sessions import signed_in

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}
USER_SCOPES = "openid fhirUser user/*.cruds"
MRNS = ("KL-1002", "KL-1003", "KL-1004")
RESEARCHER = (("http://terminology.hl7.org/CodeSystem/practitioner-role", "researcher", "Researcher"),)


@pytest.fixture(scope="module")
def patients(ehr) -> dict[str, str]:
    return {mrn: ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"] for mrn in MRNS}


@pytest.fixture
def app(tmp_path, monkeypatch, ehr, patients):
    runtime = smart_service_runtime("documentation", tmp_path, monkeypatch, ehr)
    flask_app, _handlers, _responses = build(runtime)
    orders, sessions = three_states(tuple(patients[mrn] for mrn in MRNS), "brd")
    store(runtime.engine, orders, sessions)
    return flask_app


@pytest.fixture
def nurse(ehr) -> str:
    return registered_nurse(ehr.client).fhir_user


def test_a_user_level_launch_sees_today_s_sessions_of_every_patient(app, ehr, patients, nurse):
    board = signed_in(app, None, fhir_user=nurse, scope=USER_SCOPES).get("/ui/board.json")
    assert board.status_code == 200, board.get_data(as_text=True)
    assert "no-store" in board.headers["Cache-Control"]
    rows = {row["session_id"]: row for row in board.get_json()["rows"]}
    assert {row_id: (rows[row_id]["state"], rows[row_id]["chair"]) for row_id in rows} == {
        "brd-a-1": ("infusing", "Chair 1"), "brd-b-1": ("checked-in", "Chair 2"), "brd-c-1": ("scheduled", None)}
    infusing = rows["brd-a-1"]
    assert infusing["minutes_in_phase"] == 21 and infusing["planned_minutes"] == 40
    assert len(infusing["overdue_readings"]) == 1 and infusing["needs_attention"]  # the 15-min reading
    assert infusing["escort_confirmed"] is True and rows["brd-b-1"]["escort_confirmed"] is None
    assert infusing["ehr_status"]["status"] == "not-sent"  # stored straight, nothing sent: said so, not hidden
    # names as initials by default, read from the EHR with the viewer's token
    expected = patient_label(ehr.client.read("Patient", patients["KL-1002"]), "initials")
    assert expected and re.fullmatch(r"([A-Z]\. ?)+", expected) and infusing["patient"] == expected


def test_the_page_and_its_refresh_fragment_show_the_same_rows(app, nurse):
    browser = signed_in(app, None, fhir_user=nurse, scope=USER_SCOPES)
    page = browser.get("/ui/board", headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert re.findall(r'data-session-id="([^"]+)"', html) == ["brd-a-1", "brd-b-1", "brd-c-1"]
    assert 'href="/ui/sessions/brd-a-1"' in html and "OVERDUE" in html
    fragment = browser.get("/ui/board/rows", headers=HTML)
    assert fragment.status_code == 200 and fragment.headers["X-Board-Updated"]
    assert re.findall(r'data-session-id="([^"]+)"', fragment.get_data(as_text=True)) == [
        "brd-a-1", "brd-b-1", "brd-c-1"]
    assert "<html" not in fragment.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/ui/board", "/ui/board/rows", "/ui/board.json"])
def test_a_patient_bound_launch_is_refused_the_board(app, patients, nurse, path):
    bound = signed_in(app, patients["KL-1003"], fhir_user=nurse, scope="launch openid fhirUser user/*.cruds")
    refused = bound.get(path, headers=HTML)
    assert refused.status_code == 403
    assert 'data-smart-error="other-patient"' in refused.get_data(as_text=True)
    assert "brd-a-1" not in refused.get_data(as_text=True)


def test_without_credentials_or_a_board_role_or_user_level_scopes_the_board_is_refused(app, ehr, nurse):
    assert app.test_client().get("/ui/board.json").status_code == 401
    researcher = clinician(ehr.client, "board-researcher", "Riley Research", RESEARCHER).fhir_user
    no_role = signed_in(app, None, fhir_user=researcher, scope=USER_SCOPES).get("/ui/board", headers=HTML)
    assert no_role.status_code == 403 and 'data-smart-error="not-board-viewer"' in no_role.get_data(as_text=True)
    patient_scopes_only = signed_in(app, None, fhir_user=nurse, scope="openid fhirUser patient/*.cruds",
                                    cookie="c-2").get("/ui/board.json")
    assert patient_scopes_only.status_code == 403


def test_a_row_opens_its_session_with_that_patient_in_the_banner(app, ehr, patients, nurse):
    browser = signed_in(app, None, fhir_user=nurse, scope=USER_SCOPES)
    html = browser.get("/ui/sessions/brd-b-1", headers=HTML).get_data(as_text=True)
    banner = re.search(r'<[^>]+class="patient-banner[^"]*"[^>]*>(.*?)</(section|div|aside)>', html, re.S)
    assert banner, html[:2000]
    own = patient_label(ehr.client.read("Patient", patients["KL-1003"]), "full")
    other = patient_label(ehr.client.read("Patient", patients["KL-1002"]), "full")
    assert own in banner.group(1) and other not in banner.group(1)
    # a patient-bound launch still reaches its own patient only, on the pages as before
    bound = signed_in(app, patients["KL-1003"], fhir_user=nurse, scope="launch openid fhirUser user/*.cruds",
                      cookie="c-3")
    assert bound.get("/ui/sessions/brd-b-1", headers=HTML).status_code == 200
    assert bound.get("/ui/sessions/brd-a-1", headers=HTML).status_code == 403


def test_the_chair_is_given_at_check_in_and_a_bad_one_is_refused(app, nurse):
    browser = signed_in(app, None, fhir_user=nurse, scope=USER_SCOPES)
    bad = browser.post("/sessions/brd-c-1/check-in", json={"chair": "<b>Jordan</b>"})
    assert bad.status_code == 400 and bad.get_json()["issue"][0]["expression"] == ["chair"]
    done = browser.post("/sessions/brd-c-1/check-in", json={"chair": "Chair 3"})
    assert done.status_code == 200, done.get_data(as_text=True)
    rows = {row["session_id"]: row for row in browser.get("/ui/board.json").get_json()["rows"]}
    assert (rows["brd-c-1"]["state"], rows["brd-c-1"]["chair"]) == ("checked-in", "Chair 3")


def test_the_check_in_form_takes_the_chair_and_shows_a_bad_one_next_to_the_field(app, nurse):
    browser = signed_in(app, None, fhir_user=nurse, scope=USER_SCOPES)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"',
                      browser.get("/ui/sessions/brd-c-1", headers=HTML).get_data(as_text=True)).group(1)
    form = {"csrf_token": token, "at": ""}
    posted = {**HTML, "Origin": "http://localhost"}
    bad = browser.post("/ui/sessions/brd-c-1/check-in", data={**form, "chair": "Chair <3>"}, headers=posted)
    assert bad.status_code == 400 and 'id="check_in-chair-error"' in bad.get_data(as_text=True)
    done = browser.post("/ui/sessions/brd-c-1/check-in", data={**form, "chair": "Chair 4"}, headers=posted)
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    rows = {row["session_id"]: row for row in browser.get("/ui/board.json").get_json()["rows"]}
    assert (rows["brd-c-1"]["state"], rows["brd-c-1"]["chair"]) == ("checked-in", "Chair 4")
