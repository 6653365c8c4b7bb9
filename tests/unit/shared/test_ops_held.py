"""``python -m shared.ops <service> held ...`` on a real SQLite store: held records listed by id (never their value),
released and discarded only with a reason and only the service's own consumer's, each action audited with the CLI's
actor in the same transaction; a state that does not allow the action is exit 2 with the reason."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shared.db import create_database, held_records, ops_actions, utcnow
from shared.ops.cli import main

CONSUMER = "ketalink-orders"


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    engine = create_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    now = utcnow()
    with engine.begin() as conn:
        ids = [conn.execute(held_records.insert().values(
            consumer=consumer, source_topic="ketalink.intake.events", source_partition=2, source_offset=offset,
            message_key="patient-9", value=b'{"name": "Jane Private"}', headers="[]", state=state, attempts=3,
            reason="TransientError: EHR answered 500", held_at=now - timedelta(minutes=9),
            next_attempt_at=None)).inserted_primary_key[0]
            for consumer, offset, state in ((CONSUMER, 10, "parked"), (CONSUMER, 11, "waiting"),
                                            ("ketalink-documentation", 12, "parked"))]
    yield engine, ids
    engine.dispose()


def test_held_records_are_listed_by_id_only(store, capsys):
    _engine, ids = store
    assert main(["orders", "held", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{ids[0]}  parked  ketalink.intake.events:2:10  key=patient-9" in out
    assert f"{ids[1]}  waiting  ketalink.intake.events:2:11" in out
    assert "ketalink.intake.events:2:12" not in out, "another service's consumer's records are not listed"
    assert "Jane" not in out


def test_release_and_discard_are_audited_and_refused_out_of_order(store, capsys):
    engine, ids = store
    assert main(["orders", "held", "discard", str(ids[1]), "--reason", "skip"]) == 2
    assert "waits behind held record" in capsys.readouterr().err
    assert main(["orders", "held", "release", str(ids[2]), "--reason", "x"]) == 2, "not this service's record"
    assert main(["orders", "held", "release", "99999", "--reason", "x"]) == 2
    assert main(["orders", "held", "release", str(ids[0])]) == 2, "a reason is required"
    capsys.readouterr()

    assert main(["orders", "held", "release", str(ids[0]), "--reason", "EHR back"]) == 0
    assert f"released held record {ids[0]} (now retrying)" in capsys.readouterr().out
    assert main(["orders", "held", "discard", str(ids[0]), "--reason", "withdrawn in the EHR"]) == 0
    with engine.connect() as conn:
        states = dict(conn.execute(select(held_records.c.id, held_records.c.state)).all())
        audit = conn.execute(select(ops_actions).order_by(ops_actions.c.id)).mappings().all()
    assert states == {ids[0]: "discarded", ids[1]: "retrying", ids[2]: "parked"}
    assert [(a["service"], a["action"], a["target"], a["reason"], a["outcome"]) for a in audit] == [
        ("orders", "held-release", f"held:{ids[0]}", "EHR back", "done"),
        ("orders", "held-discard", f"held:{ids[0]}", "withdrawn in the EHR", "done")]
    assert all(a["actor"].startswith("cli:") for a in audit)
