"""The operations CLI's contract without a broker: usage errors exit 2 with a message and no traceback (before any
store is touched), refs parse one way, settings are checked at start, and the store-only commands (outbox, prune)
work against a real SQLite store. The broker-side commands are in tests/integration/test_ops_dead_letters.py."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from shared.db import create_database, outbox, processed_messages, utcnow
from shared.ops.audit import OpsUsageError, checked_reason
from shared.ops.cli import cli_actor, main
from shared.ops.dead_letters import DeadLetterRef, message_facts
from shared.config import SettingsError, load_settings
from shared.fhir.messaging import build_message
from shared.ops.settings import ROLE_ICT, OpsAccessSettings

ROOT = Path(__file__).resolve().parents[3]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.ops", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("args, message", [
    (("nowhere", "outbox"), "invalid choice: 'nowhere'"),
    (("intake",), "the following arguments are required"),
    (("intake", "dead-letters", "replay", "--reason", "fixed"), "name the dead letters to replay"),
    (("intake", "dead-letters", "replay", "ketalink.intake.events.dlq:0:1", "--all", "--reason", "x"), "not both"),
    (("intake", "dead-letters", "replay", "--all"), "--reason"),
    (("intake", "dead-letters", "replay", "--all", "--reason", "   "), "a reason is required"),
    (("intake", "dead-letters", "discard", "ehr.events.dlq:0:1"), "--reason"),
    (("intake", "dead-letters", "show", "ehr.events:0:1"), "not a dead letter's ref"),
    (("intake", "dead-letters", "show", "ehr.events.dlq:x:1"), "not a dead letter's ref"),
    (("intake", "dead-letters", "list", "--limit", "0"), "--limit must be at least 1"),
    (("intake", "held", "release", "seven", "--reason", "x"), "invalid int value"),
])
def test_bad_usage_exits_2_with_a_message_and_touches_nothing(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "never.db").exists(), "usage is checked before any store is opened"


def test_a_bad_setting_exits_2_naming_the_variable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "KETALINK_RETENTION_PROCESSED_DAYS": "7", "KETALINK_CLINIC_TIMEZONE": "UTC"}
    result = run_cli("intake", "prune", env=env)
    assert result.returncode == 2 and "KETALINK_RETENTION_" in result.stderr and "processed_days" in result.stderr
    assert "Traceback" not in result.stderr


def test_refs_parse_and_print_one_way():
    ref = DeadLetterRef.parse("ketalink.intake.events.dlq:2:15")
    assert (ref.topic, ref.partition, ref.offset, ref.source_topic) == ("ketalink.intake.events.dlq", 2, 15,
                                                                       "ketalink.intake.events")
    assert str(ref) == "ketalink.intake.events.dlq:2:15"
    for bad in ("", "ehr.events.dlq", "ehr.events.dlq:1", "ehr.events.dlq:-1:2", "ehr.events.dlq:1:2:3"):
        with pytest.raises(OpsUsageError):
            DeadLetterRef.parse(bad)


def test_message_facts_are_the_header_ids_or_nothing():
    message = build_message("referral-requested", "urn:test",
                            [{"resourceType": "Basic", "id": "b1", "code": {"text": "b"}}], with_provenance=False)
    assert message_facts(json.dumps(message).encode()) == (message["entry"][0]["resource"]["id"],
                                                           "referral-requested")
    for garbled in (None, b"", b"not json", b'{"entry": []}', b"[" * 5000 + b"]" * 5000, b'{"entry":[{"resource":1}]}'):
        assert message_facts(garbled) == ("", "")


def test_reasons_are_required_and_bounded():
    assert checked_reason("  EHR fixed the\nPatient link  ") == "EHR fixed the Patient link"
    assert len(checked_reason("x" * 2000)) == 500
    for missing in (None, "", " \n "):
        with pytest.raises(OpsUsageError, match="reason is required"):
            checked_reason(missing)


def test_the_cli_actor_names_the_os_user_and_host():
    actor = cli_actor()
    assert actor.startswith("cli:") and "@" in actor


def test_ops_access_settings_default_to_the_ict_role_and_are_validated():
    assert OpsAccessSettings().role_codes == (ROLE_ICT,)
    assert load_settings(OpsAccessSettings, "KETALINK_OPS_", {"KETALINK_OPS_SCOPES": "user/ketalink.ops"}).scopes == (
        "user/ketalink.ops",)
    for env in ({"KETALINK_OPS_ROLE_CODES": "ict"}, {"KETALINK_OPS_ROLE_CODES": "ftp://x|y"}):
        with pytest.raises(SettingsError, match="KETALINK_OPS_"):
            load_settings(OpsAccessSettings, "KETALINK_OPS_", env)
    with pytest.raises(SettingsError, match="grant the operations page to someone"):
        load_settings(OpsAccessSettings, "KETALINK_OPS_", {"KETALINK_OPS_ROLE_CODES": " , "})


def test_outbox_and_prune_commands_against_a_real_store(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    engine = create_database(url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(outbox.insert().values(message_id="o1", topic="t", message_key="p", event_code="e", payload="{}",
                                            created_at=now - timedelta(seconds=90), attempts=0))
        conn.execute(processed_messages.insert().values(message_id="m1", topic="t", event_code="e",
                                                        processed_at=now - timedelta(days=100)))
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["orders", "outbox"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pending 1; oldest unsent ")
    assert 89 <= int(out.rsplit("(", 1)[1].split(" ")[0]) <= 300
    assert main(["orders", "prune"]) == 0
    assert "processed_messages: would delete 1 row(s)" in capsys.readouterr().out
    assert main(["orders", "prune", "--apply"]) == 0
    assert "processed_messages: deleted 1 row(s)" in capsys.readouterr().out
    assert main(["orders", "prune"]) == 0
    assert "processed_messages: would delete 0 row(s)" in capsys.readouterr().out
