"""The user-level launches' scopes (``SMART_BOARD_SCOPES``, ``SMART_OPS_SCOPES``): user/ scopes only, checked at
start-up, so a launch meant to span patients can never be made to pick one (or to grant nothing); and the make run
lines that name their URLs."""
from __future__ import annotations

import pytest

from deploy.local.stack import user_launch_lines
from shared.config import SettingsError, load_settings
from shared.smart.scopes import ScopeContext, parse_scope
from shared.smart.settings import SmartSettings


def test_the_defaults_are_user_level_read_scopes_and_name_their_pages():
    settings = load_settings(SmartSettings, "SMART_", {})
    assert settings.user_launch("board")[0] == "/ui/board" and settings.user_launch("ops")[0] == "/ops"
    assert settings.user_launch("chart") is None
    board = [parse_scope(s) for s in settings.board_scopes.split() if parse_scope(s)]
    assert board and all(s.context is ScopeContext.USER and s.actions <= frozenset("rs") for s in board)
    ops = {s.resource_type: s.actions for s in map(parse_scope, settings.ops_scopes.split()) if s}
    assert ops["MessageHeader"] == frozenset("ru") and "launch/patient" not in settings.ops_scopes


@pytest.mark.parametrize("variable, value", [
    ("SMART_BOARD_SCOPES", "launch/patient openid user/Encounter.rs"),
    ("SMART_BOARD_SCOPES", "openid fhirUser patient/Encounter.rs"),
    ("SMART_OPS_SCOPES", "launch openid user/MessageHeader.ru"),
    ("SMART_OPS_SCOPES", "openid fhirUser online_access"),
    ("SMART_OPS_SCOPES", "openid system/MessageHeader.ru"),
])
def test_a_user_level_launch_that_would_pick_a_patient_or_grant_nothing_is_refused_at_start(variable, value):
    with pytest.raises(SettingsError):
        load_settings(SmartSettings, "SMART_", {variable: value})


def test_make_run_prints_the_board_and_ops_launch_urls():
    urls = {"intake": "http://127.0.0.1:8101", "orders": "http://127.0.0.1:8102",
            "documentation": "http://127.0.0.1:8103"}
    text = "\n".join(user_launch_lines(urls))
    assert "http://127.0.0.1:8103/launch/user/board" in text
    assert all(f"{url}/launch/user/ops" in text for url in urls.values())
