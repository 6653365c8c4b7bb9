"""The sandbox EHR's launches from the clinician's workspace (no patient): each app's user-level launch URLs in its
registration, and the launch ids the chart mints for them (no patient, no encounter, one app, expiring)."""
from __future__ import annotations

import json

import pytest

from deploy.ehr_sandbox.smart.settings import SmartServerSettings, UserLaunch, default_apps
from deploy.ehr_sandbox.smart.store import AuthStore
from shared.config import SettingsError, load_settings

APP = {"client_id": "a", "name": "A", "launch_url": "https://a/launch", "redirect_uris": ["https://a/cb"]}


def test_by_default_documentation_offers_the_board_and_every_service_its_operations_page():
    intake, orders, documentation = default_apps({"DOCUMENTATION_PORT": "9303", "ORDERS_PORT": "9302"})
    assert documentation.user_launches == (UserLaunch("Suite board", "http://127.0.0.1:9303/launch/user/board"),
                                           UserLaunch("Operations", "http://127.0.0.1:9303/launch/user/ops"))
    assert orders.user_launches == (UserLaunch("Operations", "http://127.0.0.1:9302/launch/user/ops"),)
    assert intake.user_launches == (UserLaunch("Operations", "http://127.0.0.1:8101/launch/user/ops"),)
    assert documentation.user_launch("Suite board").url.endswith("/launch/user/board")
    assert documentation.user_launch("Everything") is None


def test_user_launches_from_the_environment():
    apps = [APP | {"user_launches": [{"name": "Day view", "url": "https://a/launch/user/day"}]}]
    settings = load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_", {"EHR_SANDBOX_SMART_APPS": json.dumps(apps)})
    [app] = settings.registrations()
    assert app.user_launches == (UserLaunch("Day view", "https://a/launch/user/day"),)
    [plain] = load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_",
                            {"EHR_SANDBOX_SMART_APPS": json.dumps([APP])}).registrations()
    assert plain.user_launches == ()  # an app without any is launched from a patient's chart only


@pytest.mark.parametrize("user_launches", [
    "https://a/launch/user/day",  # not an array
    [{"name": "Day view"}],  # no URL
    [{"name": "Day view", "url": "https://a/day", "patient": "p1"}],  # a workspace launch names no patient
    [{"name": "Day view", "url": "javascript:alert(1)"}],
    [{"name": " ", "url": "https://a/day"}],
    [{"name": "Day", "url": "https://a/1"}, {"name": "Day", "url": "https://a/2"}],
])
def test_bad_user_launches_stop_the_sandbox(user_launches):
    apps = json.dumps([APP | {"user_launches": user_launches}])
    with pytest.raises(SettingsError, match="EHR_SANDBOX_SMART_"):
        load_settings(SmartServerSettings, "EHR_SANDBOX_SMART_", {"EHR_SANDBOX_SMART_APPS": apps})


def test_a_workspace_launch_carries_no_patient_names_its_app_and_expires(tmp_path):
    store = AuthStore(tmp_path)
    from_chart = store.mint_launch("patient-1", "encounter-1", 600)
    from_workspace = store.mint_user_launch("ketalink-documentation", 600)
    chart = store.launch(from_chart)
    assert (chart.patient, chart.encounter, chart.client_id, chart.from_workspace) == (
        "patient-1", "encounter-1", None, False)
    workspace = store.launch(from_workspace)
    assert (workspace.patient, workspace.encounter, workspace.client_id, workspace.from_workspace) == (
        None, None, "ketalink-documentation", True)
    assert from_workspace != from_chart and store.launch("not-a-launch") is None
    expired = store.mint_user_launch("ketalink-documentation", -1)
    assert store.launch(expired) is None
    assert store.launch(from_workspace) is not None  # the expired one's clean-up left the live one
