"""Issue 15 on a ``shared.smart`` app with the sandbox's real tokens: a session (or its token) with a patient in
context reaches that patient only even when its scopes are user-level; an operation naming no patient is refused
to it; a token the EHR issued to another client is refused. The same on the three services: tests/security."""
from __future__ import annotations

import pytest

from tests.integration.smart.flows import api, ehr_launch, session_of, sign_in_if_asked

pytestmark = pytest.mark.integration


def test_a_session_with_user_level_scopes_reaches_its_patient_only(smart_ehr, apps, browser):
    app = apps["user"]  # user/*.cruds: the EHR does not bound these scopes to one patient, the app must
    mine, theirs = smart_ehr.patient_ids()[:2]
    ehr_launch(browser, smart_ehr, app, mine)
    session = session_of(browser, app)
    assert session is not None and session.patient == mine and "user/*.cruds" in session.scope.split()
    for credentials in ({"browser": browser}, {"token": session.access_token}):
        assert api(app, f"/patients/{mine}/observations", **credentials).status_code == 200
        other = api(app, f"/patients/{theirs}/observations", **credentials)
        assert other.status_code == 403 and "another patient" in other.json()["issue"][0]["diagnostics"]
        created = api(app, "/orders", method="POST", json={"patient_id": theirs, "dose_mg": 30}, **credentials)
        assert created.status_code == 403 and "bound to" in created.json()["issue"][0]["diagnostics"]
        across = api(app, "/observations", **credentials)
        assert across.status_code == 403 and "names no patient" in across.json()["issue"][0]["diagnostics"]
        assert theirs not in across.text and mine not in across.text  # the refusal names no patient


def test_without_a_patient_in_context_user_level_scopes_are_not_bound(smart_ehr, apps, browser):
    """The control: a standalone launch that picks no patient keeps the EHR's user-level reach."""
    app = apps["user"]
    theirs = smart_ehr.patient_ids()[1]
    page = browser.get(f"{app.url}/launch")  # standalone; user/*.cruds makes the EHR ask for no patient
    page = sign_in_if_asked(browser, page)
    landing = browser.submit(page, button="approve")
    assert landing.status_code == 200, landing.text
    session = session_of(browser, app)
    assert session is not None and session.patient is None
    assert api(app, f"/patients/{theirs}/observations", browser=browser).status_code == 200
    assert api(app, "/observations", browser=browser).status_code == 200


def test_a_token_the_ehr_issued_to_another_client_is_refused(smart_ehr, apps, browser):
    issued_to, presented_at = apps["user"], apps["public"]
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, issued_to, patient_id)
    token = session_of(browser, issued_to).access_token
    assert api(issued_to, f"/patients/{patient_id}/observations", token=token).status_code == 200
    refused = api(presented_at, f"/patients/{patient_id}/observations", token=token)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "another client" in refused.json()["issue"][0]["diagnostics"]
