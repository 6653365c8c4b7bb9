"""The UI kit's guard on form posts (``shared.ui.forms``), on a small app with real SMART sessions: a post must come
from this app's origin and, under the session cookie, carry the session's form token; refusals are the SMART error
page with ``data-smart-error="csrf"``."""
from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
from flask import Blueprint, Flask, render_template_string

from shared.db import create_database
from shared.smart import SmartAuth, SmartSettings
from shared.smart.sessions import digest, session_from_token
from shared.ui import CSRF_FIELD, form_token, guard_form_posts, install_ui

ISS = "https://ehr.example.org/fhir"
HTML = {"Accept": "text/html"}
THIS_ORIGIN = {**HTML, "Origin": "http://localhost"}


def build(tmp_path, settings: SmartSettings | None = None) -> tuple[Flask, SmartAuth]:
    app = Flask("unit-ui-forms")
    pages = Blueprint("pages", __name__)
    guard_form_posts(pages)

    @pages.get("/form")
    def form():  # type: ignore[no-untyped-def]
        return render_template_string('<form method="post">{{ csrf_input() }}</form>')

    @pages.post("/form")
    def post():  # type: ignore[no-untyped-def]
        return "saved", 201

    app.register_blueprint(pages)
    install_ui(app, "Unit")
    engine = create_database(f"sqlite:///{tmp_path / 'ui.db'}")
    smart = SmartAuth(app, engine, settings or SmartSettings(), client_id="unit-ui", allowed_issuers=(ISS,))
    return app, smart


def signed_in(app: Flask, smart: SmartAuth, cookie: str):
    """A browser holding a SMART session, as after a launch."""
    scope = "launch openid patient/*.cruds"
    smart.store.create(session_from_token(digest(cookie), ISS, {"access_token": "t", "patient": "p1",
                                                                "expires_in": 3600, "scope": scope},
                                          scope, None, time.time(), 3600))
    client = app.test_client()
    client.set_cookie(smart.cookie_name, cookie)
    return client


def token_on(client) -> str:
    page = client.get("/form").get_data(as_text=True)
    return re.search(rf'<input type="hidden" name="{CSRF_FIELD}" value="([0-9a-f]+)">', page).group(1)


@pytest.fixture
def app_and_smart(tmp_path):
    return build(tmp_path)


def test_a_post_from_this_app_with_the_sessions_token_passes(app_and_smart):
    app, smart = app_and_smart
    client = signed_in(app, smart, "cookie-1")
    token = token_on(client)
    assert len(token) == 64
    assert client.post("/form", data={CSRF_FIELD: token}, headers=THIS_ORIGIN).status_code == 201
    by_referer = client.post("/form", data={CSRF_FIELD: token}, headers={**HTML, "Referer": "http://localhost/form"})
    assert by_referer.status_code == 201
    null_origin = client.post("/form", data={CSRF_FIELD: token},
                              headers={**HTML, "Origin": "null", "Referer": "http://localhost/form"})
    assert null_origin.status_code == 201  # a privacy-minded browser: the Referer decides


def test_another_origin_or_none_is_refused_with_the_csrf_page(app_and_smart):
    app, smart = app_and_smart
    client = signed_in(app, smart, "cookie-1")
    token = token_on(client)
    for headers in ({**HTML, "Origin": "http://localhost:8090"},  # the EHR's port: same site, another origin
                    {**HTML, "Origin": "https://evil.example"},
                    {**HTML, "Referer": "https://evil.example/page"},
                    HTML):  # neither Origin nor Referer
        refused = client.post("/form", data={CSRF_FIELD: token}, headers=headers)
        assert refused.status_code == 403, headers
        assert 'data-smart-error="csrf"' in refused.get_data(as_text=True)


def test_a_missing_wrong_or_other_sessions_token_is_refused(app_and_smart):
    app, smart = app_and_smart
    client = signed_in(app, smart, "cookie-1")
    other = signed_in(app, smart, "cookie-2")
    assert token_on(client) != token_on(other)
    for data in ({}, {CSRF_FIELD: "0" * 64}, {CSRF_FIELD: token_on(other)}):
        refused = client.post("/form", data=data, headers=THIS_ORIGIN)
        assert refused.status_code == 403 and 'data-smart-error="csrf"' in refused.get_data(as_text=True)


def test_without_a_session_there_is_no_token_and_no_post_passes(tmp_path):
    app, _smart = build(tmp_path, replace(SmartSettings(), auth_required=False))
    client = app.test_client()
    assert 'value=""' in client.get("/form").get_data(as_text=True)
    with app.test_request_context("/form"):
        assert form_token() == ""
    assert client.post("/form", data={CSRF_FIELD: ""}, headers=THIS_ORIGIN).status_code == 403


def test_the_public_base_url_counts_as_this_origin(tmp_path):
    app, smart = build(tmp_path, replace(SmartSettings(), public_base_url="https://orders.clinic.example"))
    client = signed_in(app, smart, "cookie-1")
    token = token_on(client)
    behind_proxy = client.post("/form", data={CSRF_FIELD: token},
                               headers={**HTML, "Origin": "https://orders.clinic.example"})
    assert behind_proxy.status_code == 201


def test_gets_are_not_checked_and_the_guard_runs_after_authentication(app_and_smart):
    app, _smart = app_and_smart
    anonymous = app.test_client()
    assert anonymous.get("/form", headers=HTML).status_code == 401  # SMART first: the launch page, not "csrf"
    answer = anonymous.post("/form", headers=THIS_ORIGIN)
    assert answer.status_code == 401 and 'data-smart-error="launch-required"' in answer.get_data(as_text=True)
