"""The app side of a launch without an EHR process: PKCE S256 and state (through Authlib), the browser binding
of a launch, cookie flags, error pages and answers, and the requirement checks on views."""
from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from shared.api import Api
from shared.config import SettingsError, load_settings
from shared.db import create_database
from shared.smart import SmartAuth, SmartSettings, from_path, requires
from shared.smart.discovery import SmartConfiguration
from shared.smart.sessions import digest
from shared.smart.settings import CookieSecure

ISS = "https://ehr.example.org/fhir"
CONFIGURATION = SmartConfiguration.from_json(ISS, {
    "authorization_endpoint": "https://ehr.example.org/authorize", "token_endpoint": "https://ehr.example.org/token",
    "capabilities": ["launch-ehr", "permission-v2"], "code_challenge_methods_supported": ["S256"]})


class FakeDiscovery:
    def configuration(self, iss: str) -> SmartConfiguration:
        assert iss == ISS
        return CONFIGURATION


def build(tmp_path, settings: SmartSettings | None = None) -> tuple[Flask, SmartAuth, list[dict[str, Any]]]:
    engine = create_database(f"sqlite:///{tmp_path / 'app.db'}")
    app = Flask("unit-smart")
    api = Api("t", "1", "d", engine)

    @api.operation("/patients/<patient_id>/observations", "GET", summary="s")
    @requires("Observation", "r", patient=from_path("patient_id"))
    def observations(patient_id: str):  # type: ignore[no-untyped-def]
        return {"patient_id": patient_id}

    api.install(app)
    smart = SmartAuth(app, engine, settings or SmartSettings(), client_id="unit-app", allowed_issuers=(ISS,))
    smart.discovery = FakeDiscovery()  # type: ignore[assignment]
    exchanges: list[dict[str, Any]] = []

    def exchange_code(configuration, code, redirect_uri, code_verifier):  # type: ignore[no-untyped-def]
        exchanges.append({"code": code, "redirect_uri": redirect_uri, "code_verifier": code_verifier})
        return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-1",
                "scope": "launch patient/*.rs", "patient": "p1", "encounter": "e1", "need_patient_banner": False}

    smart.oauth.exchange_code = exchange_code  # type: ignore[method-assign]
    return app, smart, exchanges


def set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_launch_sends_pkce_s256_state_aud_and_launch(tmp_path):
    app, smart, _ = build(tmp_path)
    response = app.test_client().get("/launch", query_string={"iss": ISS, "launch": "L1"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://ehr.example.org/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "unit-app"
    assert query["aud"] == ISS and query["launch"] == "L1" and query["redirect_uri"] == "http://localhost/callback"
    assert query["code_challenge_method"] == "S256" and query["scope"] == smart.settings.scopes
    pending = smart.store.take_launch(query["state"])
    assert pending is not None and pending.launch == "L1"
    expected = base64.urlsafe_b64encode(hashlib.sha256(pending.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode()  # RFC 7636 S256 of the verifier kept server-side
    assert 43 <= len(pending.code_verifier) <= 128


def test_states_and_verifiers_are_random_per_launch(tmp_path):
    app, _smart, _ = build(tmp_path)
    client = app.test_client()
    queries = [parse_qs(urlsplit(client.get("/launch", query_string={"iss": ISS, "launch": "L"}).headers[
        "Location"]).query) for _ in range(3)]
    assert len({q["state"][0] for q in queries}) == 3 and len({q["code_challenge"][0] for q in queries}) == 3


def test_callback_checks_state_and_browser_then_stores_the_session_server_side(tmp_path):
    app, smart, exchanges = build(tmp_path)
    client = app.test_client()
    location = client.get("/launch", query_string={"iss": ISS, "launch": "L1"}).headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]

    wrong = client.get("/callback", query_string={"code": "c1", "state": "not-the-state"})
    assert wrong.status_code == 400 and b'data-smart-error="bad-state"' not in wrong.data  # JSON: no HTML asked
    assert wrong.json["resourceType"] == "OperationOutcome" and not exchanges

    other_browser = app.test_client()
    assert other_browser.get("/callback", query_string={"code": "c1", "state": state}).status_code == 400
    assert not exchanges  # the state was spent by the refused attempt; the real browser must launch again

    location = client.get("/launch", query_string={"iss": ISS, "launch": "L1"}).headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    done = client.get("/callback", query_string={"code": "c1", "state": state})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert exchanges[-1]["code"] == "c1" and exchanges[-1]["redirect_uri"] == "http://localhost/callback"
    cookie = set_cookies(done)[smart.cookie_name]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secret = cookie.split(";")[0].split("=", 1)[1]
    session = smart.store.get(digest(secret))
    assert session is not None and session.access_token == "at-1" and session.patient == "p1"
    assert session.encounter == "e1" and not session.need_patient_banner
    assert client.get("/smart/session").json["patient"] == "p1"
    assert client.get("/patients/p1/observations").status_code == 200
    assert client.get("/patients/p2/observations").status_code == 403


def test_cookies_are_secure_over_https_and_when_forced(tmp_path):
    app, smart, _ = build(tmp_path)
    secure = app.test_client().get("/launch", base_url="https://app.example.org",
                                   query_string={"iss": ISS, "launch": "L"})
    assert "Secure" in set_cookies(secure)[smart.launch_cookie_name]
    assert parse_qs(urlsplit(secure.headers["Location"]).query)["redirect_uri"] == [
        "https://app.example.org/callback"]
    app2, smart2, _ = build(tmp_path / "forced", replace(SmartSettings(), cookie_secure=CookieSecure.TRUE,
                                                         cookie_samesite="None"))
    forced = app2.test_client().get("/launch", query_string={"iss": ISS, "launch": "L"})
    cookie = set_cookies(forced)[smart2.launch_cookie_name]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie


def test_unknown_iss_gets_an_error_page(tmp_path):
    app, _smart, _ = build(tmp_path)
    page = app.test_client().get("/launch", query_string={"iss": "https://other.example/fhir", "launch": "L"},
                                 headers={"Accept": "text/html"})
    assert page.status_code == 400 and b'data-smart-error="unknown-iss"' in page.data


def test_no_credentials_answer_401_json_or_html(tmp_path):
    app, _smart, _ = build(tmp_path)
    client = app.test_client()
    api_answer = client.get("/patients/p1/observations")
    assert api_answer.status_code == 401 and api_answer.mimetype == "application/fhir+json"
    assert api_answer.headers["WWW-Authenticate"].startswith('Bearer realm="ketalink"')
    page = client.get("/patients/p1/observations", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b"launch-required" in page.data


def test_auth_can_be_switched_off_for_local_work(tmp_path):
    app, _smart, _ = build(tmp_path, replace(SmartSettings(), auth_required=False))
    assert app.test_client().get("/patients/p1/observations").status_code == 200


def test_an_ended_session_says_so(tmp_path):
    app, smart, _ = build(tmp_path, replace(SmartSettings(), session_lifetime_s=1))
    client = app.test_client()
    location = client.get("/launch", query_string={"iss": ISS, "launch": "L1"}).headers["Location"]
    client.get("/callback", query_string={"code": "c", "state": parse_qs(urlsplit(location).query)["state"][0]})
    time.sleep(1.1)
    page = client.get("/patients/p1/observations", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b'data-smart-error="session-ended"' in page.data


@pytest.mark.parametrize("environ, variable", [
    ({"SMART_CLIENT_SECRET": "s", "SMART_PRIVATE_KEY_PATH": "/k.pem"}, "SMART_"),
    ({"SMART_ALLOWED_ISSUERS": "ftp://ehr"}, "SMART_"),
    ({"SMART_COOKIE_SECURE": "sometimes"}, "SMART_COOKIE_SECURE"),
    ({"SMART_COOKIE_SAMESITE": "None", "SMART_COOKIE_SECURE": "false"}, "SMART_"),
    ({"SMART_REDIRECT_PATH": "callback"}, "SMART_"),
    ({"SMART_ACCEPTED_CLIENT_IDS": "ketalink orders"}, "SMART_"),
])
def test_bad_settings_stop_the_service_naming_the_variable(environ, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(SmartSettings, "SMART_", environ)


def test_settings_defaults_and_lists():
    settings = load_settings(SmartSettings, "SMART_", {"SMART_ALLOWED_ISSUERS": "https://a/fhir, https://b/fhir"})
    assert settings.allowed_issuers == ("https://a/fhir", "https://b/fhir")
    assert settings.auth_required and settings.cookie_samesite == "Lax" and "patient/*.cruds" in settings.scopes
    # patient-level data scopes by default: the only user-level ones are for people (names, roles), no patient's data
    for scopes in (settings.scopes, settings.standalone_scopes):
        user_level = [scope for scope in scopes.split() if scope.startswith("user/")]
        assert user_level == ["user/Practitioner.rs", "user/PractitionerRole.rs"], scopes
    assert settings.accepted_client_ids == ()  # the service's own client id (SmartAuth)
    listed = load_settings(SmartSettings, "SMART_", {"SMART_ACCEPTED_CLIENT_IDS": "ketalink-orders, engine"})
    assert listed.accepted_client_ids == ("ketalink-orders", "engine")


def test_endpoints_without_requirements_are_listed(tmp_path):
    app, smart, _ = build(tmp_path)

    @app.get("/undeclared")
    def undeclared():  # type: ignore[no-untyped-def]
        return {}

    assert smart.endpoints_without_requirements(app) == ["undeclared"]


def test_every_blueprints_static_files_are_open_without_credentials(tmp_path):
    from flask import Blueprint

    app, smart, _ = build(tmp_path)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "page.css").write_text("main { margin: 0; }")
    app.register_blueprint(Blueprint("pages", __name__, static_folder=str(tmp_path / "assets"),
                                     static_url_path="/pages-static"))
    client = app.test_client()
    assert client.get("/pages-static/page.css").status_code == 200
    assert client.get("/patients/p1/observations").status_code == 401  # everything else still needs credentials
    assert "pages.static" not in smart.endpoints_without_requirements(app)
