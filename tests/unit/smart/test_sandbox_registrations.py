"""The sandbox authorization server's app registrations and what each kind of client may do."""
from __future__ import annotations

import json

import pytest

from deploy.ehr_sandbox.smart.server import Client, user_facing_scope
from deploy.ehr_sandbox.smart.settings import AppRegistration, SmartServerSettings, default_apps
from shared.config import SettingsError, load_settings


def test_by_default_the_three_services_are_public_clients_on_their_ports():
    apps = default_apps({"ORDERS_PORT": "9202"})
    assert [app.client_id for app in apps] == ["ketalink-intake", "ketalink-orders", "ketalink-documentation"]
    orders = apps[1]
    assert orders.launch_url == "http://127.0.0.1:9202/launch" and orders.client_type == "public"
    assert "http://127.0.0.1:9202/callback" in orders.redirect_uris
    assert apps[0].launch_url == "http://127.0.0.1:8101/launch"


def test_apps_from_the_environment():
    apps = [{"client_id": "a", "name": "A", "launch_url": "https://a/launch", "redirect_uris": ["https://a/cb"],
             "client_secret": "s"},
            {"client_id": "b", "name": "B", "launch_url": "https://b/launch", "redirect_uris": "https://b/cb",
             "jwks_uri": "https://b/jwks"}]
    settings = load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_", {"EHR_SANDBOX_SMART_APPS": json.dumps(apps)})
    a, b = settings.registrations()
    assert (a.client_type, b.client_type) == ("confidential-symmetric", "confidential-asymmetric")
    assert b.redirect_uris == ("https://b/cb",)


@pytest.mark.parametrize("apps", ["not json", "[]", '[{"client_id": "a"}]',
                                  '[{"client_id": "a", "name": "A", "launch_url": "u", "redirect_uris": ["r"], '
                                  '"colour": "red"}]'])
def test_bad_app_registrations_stop_the_sandbox(apps):
    with pytest.raises(SettingsError, match="EHR_SANDBOX_SMART_"):
        load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_", {"EHR_SANDBOX_SMART_APPS": apps})


def test_each_kind_of_client_authenticates_its_own_way():
    public = Client(AppRegistration("p", "P", "u", ("r",)))
    secret = Client(AppRegistration("s", "S", "u", ("r",), client_secret="x"))
    keyed = Client(AppRegistration("k", "K", "u", ("r",), jwks={"keys": []}))
    assert public.check_endpoint_auth_method("none", "token")
    assert not public.check_endpoint_auth_method("client_secret_basic", "token")
    assert secret.check_endpoint_auth_method("client_secret_basic", "token")
    assert not secret.check_endpoint_auth_method("none", "token")
    assert secret.check_client_secret("x") and not secret.check_client_secret("y")
    assert not public.check_client_secret("")
    assert keyed.check_endpoint_auth_method("private_key_jwt", "token")
    assert not keyed.check_endpoint_auth_method("client_secret_post", "token")


def test_launches_get_user_facing_scopes_only():
    assert all(user_facing_scope(s) for s in ("launch", "launch/patient", "openid", "fhirUser", "online_access",
                                              "patient/*.rs", "user/Observation.cruds", "patient/*.read"))
    assert not any(user_facing_scope(s) for s in ("system/*.rs", "admin", "patient/*.sr"))
    client = Client(AppRegistration("n", "N", "u", ("r",), scope="launch patient/Observation.rs"))
    assert client.get_allowed_scope("launch patient/Observation.rs user/*.cruds") == "launch patient/Observation.rs"
