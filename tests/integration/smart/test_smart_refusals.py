"""The failure paths of SMART against the real EHR sandbox: bad state, denied consent, unknown iss, no/forged/
expired tokens, missing scope, another patient's records, refresh (transparent, then refused) and session expiry."""
from __future__ import annotations

import re
import time

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.smart.tokens import unverified_claims
from tests.integration.smart.conftest import TOKEN_LIFETIME_S
from tests.integration.smart.flows import api, ehr_launch, open_from_chart, session_of
from tests.integration.smart.support import Browser, query_of

pytestmark = pytest.mark.integration


def _error_page(response: requests.Response) -> str:
    """The ``data-smart-error`` of an app's error page."""
    assert response.headers["Content-Type"].startswith("text/html"), response.text
    marker = 'data-smart-error="'
    start = response.text.index(marker) + len(marker)
    return response.text[start:response.text.index('"', start)]


def _callback_url(browser: Browser, ehr, app, patient_id: str) -> str:
    """Approve in the EHR but stop before the browser follows the redirect back to the app."""
    answer = browser.submit(open_from_chart(browser, ehr, app, patient_id), button="approve", allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(f"{app.url}/callback?")
    return answer.headers["Location"]


def test_a_callback_with_a_bad_state_is_refused(smart_ehr, apps, browser):
    app = apps["public"]
    callback = _callback_url(browser, smart_ehr, app, smart_ehr.patient_ids()[0])
    state = query_of(callback)["state"]
    tampered = browser.get(callback.replace(f"state={state}", "state=forged-state-value"))
    assert tampered.status_code == 400 and _error_page(tampered) == "bad-state"
    assert session_of(browser, app) is None


def test_a_callback_in_another_browser_is_refused_and_a_state_serves_once(smart_ehr, apps, browser):
    app = apps["public"]
    callback = _callback_url(browser, smart_ehr, app, smart_ehr.patient_ids()[0])
    elsewhere = Browser().get(callback)  # same code and state, but not the browser that started the launch
    assert elsewhere.status_code == 400 and _error_page(elsewhere) == "bad-state"
    # the state was spent by that attempt: the real browser cannot use it either (start again from the EHR)
    again = browser.get(callback)
    assert again.status_code == 400 and _error_page(again) == "bad-state"


def test_denied_consent_shows_a_clear_page(smart_ehr, apps, browser):
    app = apps["public"]
    denied = browser.submit(open_from_chart(browser, smart_ehr, app, smart_ehr.patient_ids()[0]), button="deny")
    assert browser.visited_at(f"{app.url}/callback").url.count("error=access_denied") == 1
    assert denied.status_code == 403 and _error_page(denied) == "denied"
    assert session_of(browser, app) is None


def test_a_launch_from_an_unknown_iss_is_refused(apps, browser):
    page = browser.get(f"{apps['public'].url}/launch", params={"iss": "https://ehr.attacker.example/fhir",
                                                               "launch": "abc"})
    assert page.status_code == 400 and _error_page(page) == "unknown-iss"
    assert "attacker" in page.text  # names the EHR it does not know


def test_no_credentials_get_401_with_a_challenge(smart_ehr, apps):
    app = apps["public"]
    answer = api(app, f"/patients/{smart_ehr.patient_ids()[0]}/observations")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith('Bearer realm="ketalink"')
    assert answer.json()["resourceType"] == "OperationOutcome"
    page = Browser().get(f"{app.url}/ui")
    assert page.status_code == 401 and _error_page(page) == "launch-required"
    assert requests.get(f"{app.url}/healthz", timeout=10).status_code == 200  # probes stay open
    assert requests.get(f"{app.url}/openapi.json", timeout=10).status_code == 200


def test_a_forged_token_is_refused(smart_ehr, apps, browser):
    app = apps["public"]
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, app, patient_id)
    real_claims = unverified_claims(session_of(browser, app).access_token)
    forger = RSAKey.generate_key(2048, private=True)
    forged = jwt.encode({"alg": "RS256", "kid": forger.thumbprint()}, real_claims, forger)
    answer = api(app, f"/patients/{patient_id}/observations", token=forged)
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    unsigned = api(app, f"/patients/{patient_id}/observations", token="not-a-jwt")
    assert unsigned.status_code == 401


def test_a_scope_the_token_lacks_gives_403(smart_ehr, apps, browser):
    app = apps["narrow"]  # patient/Observation.rs and patient/Patient.rs only
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, app, patient_id)
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 200
    refused = api(app, "/orders", browser=browser, method="POST", json={"patient_id": patient_id, "dose_mg": 30})
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert api(app, f"/notes/{patient_id}-1/sign", browser=browser, method="POST").status_code == 403


def test_a_token_for_one_patient_cannot_touch_another(smart_ehr, apps, browser):
    app = apps["narrow"]
    mine, theirs = smart_ehr.patient_ids()[:2]
    ehr_launch(browser, smart_ehr, app, mine)
    refused = api(app, f"/patients/{theirs}/observations", browser=browser)
    assert refused.status_code == 403 and "another patient" in refused.json()["issue"][0]["diagnostics"]
    token = session_of(browser, app).access_token
    assert api(app, f"/patients/{theirs}/observations", token=token).status_code == 403
    assert api(app, f"/patients/{mine}/observations", token=token).status_code == 200


def test_an_expired_token_is_refreshed_transparently(smart_ehr, apps, browser):
    app = apps["public"]
    patient_id = smart_ehr.patient_ids()[1]
    ehr_launch(browser, smart_ehr, app, patient_id)
    before = session_of(browser, app)
    time.sleep(TOKEN_LIFETIME_S)
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 200
    after = session_of(browser, app)
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert after.version == before.version + 1 and after.patient == patient_id
    # the old token has expired for machine calls too; the new one works
    expired = api(app, f"/patients/{patient_id}/observations", token=before.access_token)
    assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]
    assert api(app, f"/patients/{patient_id}/observations", token=after.access_token).status_code == 200


def test_a_refresh_the_ehr_refuses_ends_the_session_with_a_relaunch_page(smart_ehr, apps, browser):
    app = apps["public"]
    patient_id = smart_ehr.patient_ids()[1]
    ehr_launch(browser, smart_ehr, app, patient_id)
    stolen = session_of(browser, app).refresh_token
    rotated = requests.post(f"{smart_ehr.root}/smart/token", data={
        "grant_type": "refresh_token", "refresh_token": stolen, "client_id": app.client_id}, timeout=10)
    assert rotated.status_code == 200 and rotated.json()["patient"] == patient_id  # the old refresh token is spent
    time.sleep(TOKEN_LIFETIME_S)
    page = browser.get(f"{app.url}/ui")
    assert page.status_code == 401 and _error_page(page) == "session-ended"
    assert "Open the app again" in page.text
    assert session_of(browser, app) is None
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 401


def test_an_expired_session_shows_the_relaunch_page(smart_ehr, apps, browser):
    app = apps["short"]  # SMART_SESSION_LIFETIME_S=3
    ehr_launch(browser, smart_ehr, app, smart_ehr.patient_ids()[2])
    assert browser.get(f"{app.url}/ui").status_code == 200
    time.sleep(3.2)
    page = browser.get(f"{app.url}/ui")
    assert page.status_code == 401 and _error_page(page) == "session-ended"


def test_logout_ends_the_session(smart_ehr, apps, browser):
    app = apps["public"]
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, app, patient_id)
    # A link (GET) or another site's post only asks or is refused; the session ends by the page's own form.
    asked = browser.get(f"{app.url}/logout")
    assert asked.status_code == 200 and app.smart.cookie_name in browser.http.cookies
    assert browser.http.post(f"{app.url}/logout", timeout=10).status_code == 403
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', asked.text).group(1)
    assert browser.http.post(f"{app.url}/logout", data={"csrf_token": token}, headers={"Origin": app.url},
                             timeout=10).status_code == 200
    assert app.smart.cookie_name not in browser.http.cookies
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 401


def test_the_token_endpoint_refuses_a_code_without_its_pkce_verifier(smart_ehr, apps, browser):
    app = apps["public"]
    code = query_of(_callback_url(browser, smart_ehr, app, smart_ehr.patient_ids()[0]))["code"]
    answer = requests.post(f"{smart_ehr.root}/smart/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f"{app.url}/callback",
        "client_id": app.client_id}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
