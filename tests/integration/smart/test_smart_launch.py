"""SMART App Launch against the real EHR sandbox process: discovery, EHR launch from the chart, standalone launch
with the patient picker, public and confidential clients (secret, private_key_jwt), v1 scopes."""
from __future__ import annotations

import time

import pytest
import requests

from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_PATIENTS
from shared.smart.sessions import digest
from tests.integration.smart.flows import api, ehr_launch, open_from_chart, session_of, sign_in_if_asked
from tests.integration.smart.support import Browser, forms, query_of
from tests.support.backend_auth import bearer_headers

pytestmark = pytest.mark.integration


def test_discovery_names_the_sandbox_endpoints_and_smart_capabilities(smart_ehr):
    document = requests.get(f"{smart_ehr.fhir_base_url}/.well-known/smart-configuration", timeout=10).json()
    assert document["authorization_endpoint"] == f"{smart_ehr.root}/smart/authorize"
    assert document["token_endpoint"] == f"{smart_ehr.root}/smart/token"
    assert document["issuer"] == smart_ehr.fhir_base_url
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(document["grant_types_supported"])
    assert {"launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
            "client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient", "permission-v2",
            "permission-v1", "sso-openid-connect"} <= set(document["capabilities"])
    assert {"patient/*.rs", "user/*.cruds", "launch", "openid", "fhirUser"} <= set(document["scopes_supported"])
    keys = requests.get(document["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all("d" not in key for key in keys)  # public parts only


def test_ehr_launch_from_the_chart_opens_a_session_with_the_patient_in_context(smart_ehr, apps, browser):
    app = apps["public"]
    patient_id = smart_ehr.patient_ids()[0]
    landing = ehr_launch(browser, smart_ehr, app, patient_id)

    launch_hop = browser.visited_at(f"{app.url}/launch")
    authorize = query_of(launch_hop.headers["Location"])
    assert authorize["response_type"] == "code" and authorize["client_id"] == app.client_id
    assert authorize["aud"] == smart_ehr.fhir_base_url and authorize["launch"] == query_of(launch_hop.url)["launch"]
    assert authorize["code_challenge_method"] == "S256" and len(authorize["code_challenge"]) >= 43
    assert len(authorize["state"]) >= 20 and authorize["redirect_uri"] == f"{app.url}/callback"
    assert authorize["scope"].split() == app.smart.settings.scopes.split()  # the sandbox offers v2

    callback = browser.visited_at(f"{app.url}/callback")
    cookie = next(c for c in callback.raw.headers.getlist("Set-Cookie") if c.startswith(app.smart.cookie_name + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
    secret = cookie.split(";")[0].split("=", 1)[1]
    assert len(secret) >= 40 and secret not in landing.text

    context = landing.json()
    assert context["patient"] == patient_id and context["encounter"]
    assert context["fhirUser"].startswith(f"{smart_ehr.fhir_base_url}/Practitioner/")
    assert context["need_patient_banner"] is False  # the EHR shows its own banner around an EHR launch
    assert "access_token" not in landing.text and "refresh_token" not in landing.text
    encounter = requests.get(f"{smart_ehr.fhir_base_url}/Encounter/{context['encounter']}", timeout=10,
                             headers=bearer_headers(smart_ehr.fhir_base_url)).json()
    assert encounter["subject"]["reference"] == f"Patient/{patient_id}"

    stored = app.smart.store.get(digest(secret))
    assert stored is not None and stored.refresh_token and stored.access_expires_at > time.time()
    assert stored.patient == patient_id and "patient/*.cruds" in stored.scope.split()  # patient-level by default
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).json()["source"] == "session"
    assert api(app, "/ehr/patient", browser=browser).json() == {"id": patient_id}  # the user's token at the EHR


def test_standalone_launch_lets_the_clinician_pick_the_patient(smart_ehr, apps, browser):
    app = apps["public"]
    chosen = smart_ehr.patient_ids()[2]
    page = sign_in_if_asked(browser, browser.get(f"{app.url}/launch"), "dr.okoye")
    authorize = query_of(page.url)
    assert "launch" not in authorize and "launch/patient" in authorize["scope"].split()
    picker = next(f for f in forms(page.text) if "patient" in f.selects)
    assert chosen in picker.selects["patient"] and len(picker.selects["patient"]) >= 4
    landing = browser.submit(page, button="approve", values={"patient": chosen})
    context = landing.json()
    assert context["patient"] == chosen and context.get("encounter") is None
    assert context["need_patient_banner"] is True
    assert session_of(browser, app).fhir_user.startswith(f"{smart_ehr.fhir_base_url}/Practitioner/")


@pytest.mark.parametrize("name", ["secret", "jwt"])
def test_confidential_clients_launch_with_a_secret_or_private_key_jwt(smart_ehr, apps, browser, name):
    app = apps[name]
    patient_id = smart_ehr.patient_ids()[1]
    assert ehr_launch(browser, smart_ehr, app, patient_id).json()["patient"] == patient_id
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 200


def test_private_key_jwt_client_publishes_its_public_key(apps):
    keys = requests.get(f"{apps['jwt'].url}/smart/jwks.json", timeout=10).json()["keys"]
    assert keys[0]["alg"] == "RS384" and "d" not in keys[0]
    assert requests.get(f"{apps['public'].url}/smart/jwks.json", timeout=10).status_code == 404


def test_bearer_tokens_are_checked_by_introspection_where_configured(smart_ehr, apps, browser):
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, apps["secret"], patient_id)  # its own client's token: others are refused
    token = session_of(browser, apps["secret"]).access_token
    answer = api(apps["secret"], f"/patients/{patient_id}/observations", token=token)
    assert answer.status_code == 200 and answer.json()["source"] == "bearer"
    assert api(apps["secret"], f"/patients/{patient_id}/observations", token=token[:-4] + "AAAA").status_code == 401


def test_v1_scopes_are_requested_and_enforced_for_a_server_treated_as_v1(smart_ehr, apps, browser):
    app = apps["v1"]
    patient_id = smart_ehr.patient_ids()[0]
    ehr_launch(browser, smart_ehr, app, patient_id)
    assert "patient/*.read" in session_of(browser, app).scope.split()
    assert api(app, f"/patients/{patient_id}/observations", browser=browser).status_code == 200
    refused = api(app, "/orders", browser=browser, method="POST", json={"patient_id": patient_id, "dose_mg": 30})
    assert refused.status_code == 403


def test_the_same_browser_keeps_one_ehr_sign_in_for_a_second_app(smart_ehr, apps, browser):
    patient_id = smart_ehr.patient_ids()[3]
    ehr_launch(browser, smart_ehr, apps["public"], patient_id)
    page = open_from_chart(browser, smart_ehr, apps["narrow"], patient_id)  # straight to approval, no sign-in
    assert browser.submit(page, button="approve").json()["patient"] == patient_id
    assert session_of(browser, apps["public"]).patient == patient_id  # each app its own cookie on one host


def test_the_default_sandbox_registers_the_three_services(ehr):
    if ehr.process is None or "EHR_SANDBOX_FHIR_BASE_URL" in ehr.process.env:
        pytest.skip("the EHR is not the sandbox's own FHIR server: no SMART authorization server there")
    root = ehr.base_url.rsplit("/fhir", 1)[0]
    document = requests.get(f"{ehr.base_url}/.well-known/smart-configuration", timeout=10).json()
    assert document["authorization_endpoint"] == f"{root}/smart/authorize"  # ours, not SEKMET's backend-only one
    chart = Browser().get(f"{root}/chart")
    launch_buttons = {f.fields["app"] for f in forms(chart.text)}
    assert launch_buttons == {"ketalink-intake", "ketalink-orders", "ketalink-documentation"}
    seeded = {ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{p.mrn}"})[0]["id"] for p in SEED_PATIENTS}
    from_charts = [f for f in forms(chart.text) if "patient" in f.fields]
    assert seeded <= {f.fields["patient"] for f in from_charts}  # with any patient other tests have added
    from_workspace = {(f.fields["app"], f.fields["user_launch"]) for f in forms(chart.text)
                      if "user_launch" in f.fields}
    assert from_workspace == {("ketalink-intake", "Operations"), ("ketalink-orders", "Operations"),
                              ("ketalink-documentation", "Operations"), ("ketalink-documentation", "Suite board")}
