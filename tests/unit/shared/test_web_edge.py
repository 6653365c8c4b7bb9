"""The web edge (``shared/edge.py``, ``shared/web.py``, ``shared/smart/views.py`` logout): security headers on every
answer, the Host checked against the public base URL outside local runs, sign-out only by the pages' guarded form,
arrays measured before their items are validated, and an unhandled error logged with where it was raised but not what
it said. On a small app built the way every service builds its own (``web.install``, ``install_smart``)."""
from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template_string
from pythonjsonlogger.json import JsonFormatter

from shared import runtime as runtime_module
from shared.api import Api, RequestModel
from shared.db import create_database
from shared.edge import EdgeSettings, edge_for, host_names, origin_of
from shared.smart import SmartSettings
from shared.smart.app import install_smart
from shared.smart.sessions import digest, session_from_token
from shared.ui import CSRF_FIELD, install_ui
from shared.web import install

ISS = "https://ehr.example.org/fhir"
PUBLIC = "https://orders.clinic.example"
PHI_IN_MESSAGE = "Maria Gonzalez born 1961-03-04"


class Readings(RequestModel):
    values: list[int]


def build(tmp_path, *, public_base_url: str = "", local_run: bool = False,
          settings: SmartSettings | None = None) -> Flask:
    app = Flask("unit-web-edge")
    api = Api("unit", "1", "unit", None)

    @api.operation("/readings", "POST", summary="readings", body=Readings)
    def post_readings(body: Readings):  # type: ignore[no-untyped-def]
        return {"count": len(body.values)}

    api.install(app)

    @app.get("/page")
    def page():  # type: ignore[no-untyped-def]
        return render_template_string('<p>patient page</p><script nonce="{{ csp_nonce() }}">1</script>')

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise ValueError(PHI_IN_MESSAGE)

    install(app, {})
    install_ui(app, "Unit")
    runtime = SimpleNamespace(name="orders", engine=create_database(f"sqlite:///{tmp_path / 'edge.db'}"),
                              settings=SimpleNamespace(public_base_url=public_base_url, ehr_fhir_base_url=ISS),
                              clinic_time=SimpleNamespace(local_run=local_run))
    install_smart(app, runtime, settings=settings or SmartSettings(auth_required=False))
    return app


def test_every_answer_says_nosniff_same_origin_referrers_and_no_store(tmp_path):
    client = build(tmp_path).test_client()
    for response in (client.get("/page"), client.post("/readings", json={"values": [1]}), client.get("/nowhere"),
                     client.get("/healthz")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store", response.request.path
    stylesheet = client.get("/ui-static/ketalink.css")
    assert stylesheet.status_code == 200
    assert "no-store" not in stylesheet.headers.get("Cache-Control", ""), "static files may be cached"
    assert "no-store" not in client.get("/openapi.json").headers.get("Cache-Control", "")


def test_a_page_may_run_its_own_scripts_and_be_framed_by_the_ehr_only(tmp_path):
    response = build(tmp_path).test_client().get("/page")
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    nonce = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert policy["frame-ancestors"] == "'self' https://ehr.example.org"
    assert policy["script-src"] == f"'self' 'nonce-{nonce}'" and policy["style-src"] == f"'self' 'nonce-{nonce}'"
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'"
    again = build(tmp_path).test_client().get("/page")
    assert nonce not in again.headers["Content-Security-Policy"], "a nonce is per request"


def test_json_answers_may_not_be_framed_or_run_anything(tmp_path):
    response = build(tmp_path).test_client().post("/readings", json={"values": [1, 2]})
    assert response.status_code == 200 and response.json == {"count": 2}
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'; frame-ancestors 'none'")


def test_the_ehr_origins_that_may_frame_the_pages_are_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("KETALINK_FRAME_ANCESTORS", "https://ehr-a.example.org, https://portal.example.org:8443")
    policy = build(tmp_path).test_client().get("/page").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://ehr-a.example.org https://portal.example.org:8443" in policy
    monkeypatch.setenv("KETALINK_FRAME_ANCESTORS", "https://ehr.example.org/fhir")
    with pytest.raises(SystemExit, match="KETALINK_FRAME_ANCESTORS|frame_ancestors"):
        build(tmp_path)


def test_origins_and_host_names():
    assert origin_of("HTTPS://EHR.example.org:443/") == "https://ehr.example.org"
    assert origin_of("http://127.0.0.1:8090") == "http://127.0.0.1:8090"
    assert origin_of("https://ehr.example.org/fhir") == "https://ehr.example.org" and origin_of("ftp://x") == ""
    assert host_names(PUBLIC) == {"orders.clinic.example", "orders.clinic.example:443"}
    assert host_names("http://127.0.0.1:8101") == {"127.0.0.1:8101"}
    local = edge_for((PUBLIC,), True, (ISS,), EdgeSettings())
    assert local.hosts == frozenset(), "a local run answers any Host"


def test_another_host_is_refused_outside_local_runs(tmp_path):
    client = build(tmp_path, public_base_url=PUBLIC).test_client()
    refused = client.get("/page", headers={"Host": "evil.example"})
    assert refused.status_code == 400 and refused.json["resourceType"] == "OperationOutcome"
    assert refused.json["issue"][0]["expression"] == ["Host"]
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post("/readings", json={"values": [1]}, headers={"Host": "evil.example"}).status_code == 400
    for host in ("orders.clinic.example", "ORDERS.clinic.example:443"):
        answer = client.get("/page", headers={"Host": host})
        assert answer.status_code == 200, host
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000", "https only, at an https URL"
    assert "Strict-Transport-Security" not in build(tmp_path).test_client().get("/page").headers
    # The kubelet's probes and Prometheus call the pod by its address.
    assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200
    assert client.get("/metrics", headers={"Host": "10.1.2.3:8000"}).status_code == 200


def test_extra_host_names_are_a_setting_and_a_local_run_answers_any(tmp_path, monkeypatch):
    monkeypatch.setenv("KETALINK_ALLOWED_HOSTS", "orders.internal.example:8443")
    client = build(tmp_path, public_base_url=PUBLIC).test_client()
    assert client.get("/page", headers={"Host": "orders.internal.example:8443"}).status_code == 200
    assert client.get("/page", headers={"Host": "orders.internal.example"}).status_code == 400
    local = build(tmp_path, public_base_url=PUBLIC, local_run=True).test_client()
    assert local.get("/page", headers={"Host": "anything.example"}).status_code == 200


def test_the_launch_sends_the_ehr_back_to_the_public_url_whatever_host_the_request_named(tmp_path, monkeypatch):
    """The redirect_uri the EHR sends the code to is built from the public URL, never from the request's Host (a
    forged Host would otherwise receive the clinician's authorization code)."""
    from tests.unit.smart.test_launch_and_session import FakeDiscovery

    monkeypatch.setenv("KETALINK_ALLOWED_HOSTS", "orders.internal.example")
    app = build(tmp_path, public_base_url=PUBLIC, settings=SmartSettings(allowed_issuers=(ISS,)))
    app.extensions["smart"].discovery = FakeDiscovery()
    client = app.test_client()
    for host in ("orders.clinic.example", "orders.internal.example"):
        response = client.get("/launch", query_string={"iss": ISS, "launch": "L1"}, headers={"Host": host})
        assert response.status_code == 302, response.get_data(as_text=True)
        assert parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"] == [f"{PUBLIC}/callback"]
    forged = client.get("/launch", query_string={"iss": ISS, "launch": "L1"}, headers={"Host": "evil.example"})
    assert forged.status_code == 400 and "Location" not in forged.headers


def test_a_web_process_outside_local_runs_does_not_start_without_its_public_url():
    def runtime(url: str, local: bool) -> SimpleNamespace:
        return SimpleNamespace(name="orders", settings=SimpleNamespace(public_base_url=url),
                               clinic_time=SimpleNamespace(local_run=local))

    with pytest.raises(SystemExit, match="PUBLIC_BASE_URL"):
        runtime_module._require_public_base_url(runtime("", False))  # type: ignore[arg-type]
    runtime_module._require_public_base_url(runtime(PUBLIC, False))  # type: ignore[arg-type]
    runtime_module._require_public_base_url(runtime("", True))  # type: ignore[arg-type]


# -- sign-out -----------------------------------------------------------------------------------------------------
@dataclass
class Browser:
    client: object
    session_hash: str


def signed_in(app: Flask, cookie: str = "browser-cookie") -> Browser:
    smart = app.extensions["smart"]
    scope = "launch openid patient/*.cruds"
    smart.store.create(session_from_token(digest(cookie), ISS, {"access_token": "t", "patient": "p1",
                                                                "expires_in": 3600, "scope": scope},
                                          scope, None, time.time(), 3600))
    client = app.test_client()
    client.set_cookie(smart.cookie_name, cookie)
    return Browser(client, digest(cookie))


def test_a_link_cannot_sign_a_clinician_out_only_the_pages_form_can(tmp_path):
    app = build(tmp_path, settings=SmartSettings(allowed_issuers=(ISS,)))
    store = app.extensions["smart"].store
    browser = signed_in(app)
    asked = browser.client.get("/logout", headers={"Accept": "text/html"})
    assert asked.status_code == 200 and store.get(browser.session_hash) is not None, "GET only asks"
    page = asked.get_data(as_text=True)
    assert 'method="post"' in page and 'action="/logout"' in page
    token = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"', page).group(1)
    # Another site's form (no token, or another origin) is refused and the session lives on.
    assert browser.client.post("/logout", headers={"Origin": "http://localhost"}).status_code == 403
    assert browser.client.post("/logout", data={CSRF_FIELD: token},
                               headers={"Origin": "https://evil.example"}).status_code == 403
    assert store.get(browser.session_hash) is not None
    signed_out = browser.client.post("/logout", data={CSRF_FIELD: token}, headers={"Origin": "http://localhost"})
    assert signed_out.status_code == 200 and 'data-smart-error="signed-out"' in signed_out.get_data(as_text=True)
    assert store.get(browser.session_hash) is None
    assert "Content-Security-Policy" in signed_out.headers and signed_out.headers["Cache-Control"] == "no-store"


# -- arrays and tracebacks ------------------------------------------------------------------------------------------
def test_a_huge_array_is_refused_before_its_items_are_validated(tmp_path):
    client = build(tmp_path).test_client()
    started = time.perf_counter()
    refused = client.post("/readings", json={"values": [7] * 200_000})
    elapsed = time.perf_counter() - started
    assert refused.status_code == 400 and refused.json["issue"][0]["code"] == "too-costly"
    assert refused.json["issue"][0]["expression"] == ["values"] and "1000" in refused.json["issue"][0]["diagnostics"]
    assert len(refused.json["issue"]) == 1, "one issue, not one per item"
    print(f"200000-item array refused in {elapsed:.3f} s")
    assert client.post("/readings", json={"values": list(range(1000))}).status_code == 200
    document = client.get("/openapi.json").json
    assert document["components"]["schemas"]["Readings"]["properties"]["values"]["maxItems"] == 1000


def test_an_unhandled_error_logs_where_it_was_raised_but_not_what_it_said(tmp_path):
    app = build(tmp_path)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.getLogger("shared.web").addHandler(handler)
    try:
        response = app.test_client().get("/boom")
    finally:
        logging.getLogger("shared.web").removeHandler(handler)
    logged = stream.getvalue()
    assert response.status_code == 500 and PHI_IN_MESSAGE not in response.get_data(as_text=True)
    assert '"error": "ValueError"' in logged
    assert re.search(r"tests/unit/shared/test_web_edge\.py:\d+ in boom", logged), logged
    assert "raised ValueError" in logged
    for fragment in ("Maria", "Gonzalez", "1961"):
        assert fragment not in logged, f"the exception's message reached the log: {logged}"
