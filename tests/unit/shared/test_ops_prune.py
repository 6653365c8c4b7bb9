"""Retention pruning on a real SQLite store: only rows past their retention go (never an unsent event), in batches,
each applied prune audited; a dry run counts and deletes nothing. The same checks run on PostgreSQL in
tests/integration/test_ops_prune_postgres.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from shared.config import SettingsError, load_settings
from shared.db import create_database, held_records, idempotency_keys, ops_actions, outbox, processed_messages, utcnow
from shared.ops.prune import prune
from shared.ops.settings import MIN_PROCESSED_DAYS, RetentionSettings

SETTINGS = RetentionSettings(processed_days=40, idempotency_days=2, outbox_sent_days=3, held_discarded_days=5,
                             batch_size=2)


def fill(engine: Engine, now=None) -> None:
    """Per table: 5 rows past retention and 2 within it; the outbox also has 3 old unsent events, the held records
    3 old ones still active (parked, retrying, waiting)."""
    now = now or utcnow()
    with engine.begin() as conn:
        for n, age in enumerate([41] * 5 + [39] * 2):
            conn.execute(processed_messages.insert().values(message_id=f"m{n}", topic="t", event_code="e",
                                                            processed_at=now - timedelta(days=age)))
        for n, age in enumerate([3] * 5 + [1] * 2):
            conn.execute(idempotency_keys.insert().values(idempotency_key=f"k{n}", operation="POST /x", status=201,
                                                          body="{}", created_at=now - timedelta(days=age)))
        for n, (age, sent) in enumerate([(4, True)] * 5 + [(2, True)] * 2 + [(30, False)] * 3):
            created = now - timedelta(days=age)
            conn.execute(outbox.insert().values(message_id=f"o{n}", topic="t", message_key="p", event_code="e",
                                                payload="{}", created_at=created, attempts=1,
                                                sent_at=created if sent else None))
        for n, (age, state) in enumerate([(6, "discarded")] * 5 + [(4, "discarded")] * 2
                                         + [(60, "parked"), (60, "retrying"), (60, "waiting")]):
            conn.execute(held_records.insert().values(
                consumer="ketalink-intake", source_topic="t", source_partition=0, source_offset=n, message_key="p",
                value=b"{}", headers="[]", state=state, attempts=1, reason="r", held_at=now - timedelta(days=age)))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (processed_messages, idempotency_keys, outbox, held_records)}


def check_prune(engine: Engine) -> None:
    fill(engine)
    dry = prune(engine, "intake", SETTINGS, apply=False, actor="cli:test@host")
    assert {r.table: r.rows for r in dry} == {"processed_messages": 5, "idempotency_keys": 5, "outbox": 5,
                                              "held_records": 5}
    assert counts(engine) == {"processed_messages": 7, "idempotency_keys": 7, "outbox": 10, "held_records": 10}

    applied = prune(engine, "intake", SETTINGS, apply=True, actor="cli:test@host")
    assert {r.table: r.rows for r in applied} == {"processed_messages": 5, "idempotency_keys": 5, "outbox": 5,
                                                  "held_records": 5}
    assert counts(engine) == {"processed_messages": 2, "idempotency_keys": 2, "outbox": 5, "held_records": 5}
    with engine.connect() as conn:
        unsent = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))).scalar_one()
        audited = conn.execute(select(ops_actions)).mappings().all()
        active = conn.execute(select(func.count()).select_from(held_records)
                              .where(held_records.c.state != "discarded")).scalar_one()
    assert unsent == 3, "an unsent event is never pruned, however old"
    assert active == 3, "a held record still active is never pruned, however old"
    assert sorted(a["target"] for a in audited) == ["held_records", "idempotency_keys", "outbox",
                                                    "processed_messages"]
    assert {(a["service"], a["action"], a["actor"], a["outcome"]) for a in audited} == {
        ("intake", "prune", "cli:test@host", "done")}
    assert all("5 row(s) deleted" in a["reason"] for a in audited)
    assert [r.rows for r in prune(engine, "intake", SETTINGS, apply=True, actor="cli:test@host")] == [0, 0, 0, 0]


def test_prune_deletes_only_rows_past_retention_in_batches_and_audits(tmp_path):
    check_prune(create_database(f"sqlite:///{tmp_path / 'intake.db'}"))


def test_retention_settings_defaults_and_validation():
    assert RetentionSettings() == RetentionSettings(processed_days=90, idempotency_days=30, outbox_sent_days=14,
                                                    held_discarded_days=30, batch_size=1000)
    loaded = load_settings(RetentionSettings, "KETALINK_RETENTION_", {"KETALINK_RETENTION_PROCESSED_DAYS": "60",
                                                                     "KETALINK_RETENTION_BATCH_SIZE": "50"})
    assert (loaded.processed_days, loaded.batch_size) == (60, 50)
    with pytest.raises(SettingsError, match="KETALINK_RETENTION_.*processed_days must be at least 38"):
        load_settings(RetentionSettings, "KETALINK_RETENTION_", {"KETALINK_RETENTION_PROCESSED_DAYS": "37"})
    for variable, value in (("IDEMPOTENCY_DAYS", "0"), ("OUTBOX_SENT_DAYS", "0"), ("HELD_DISCARDED_DAYS", "0"),
                            ("BATCH_SIZE", "0"),
                            ("BATCH_SIZE", "100001"), ("PROCESSED_DAYS", "ninety")):
        with pytest.raises(SettingsError, match=variable.lower() if value != "ninety" else "PROCESSED_DAYS"):
            load_settings(RetentionSettings, "KETALINK_RETENTION_", {f"KETALINK_RETENTION_{variable}": value})


def test_processed_ids_outlive_every_way_a_message_can_come_back():
    """The floor follows the topics' retention the manifests set: a dead letter replayed on its last day sits in its
    source topic for the event retention, so its id must be known that long after it was first processed."""
    from deploy.render.kafka import DEAD_LETTER_RETENTION_MS, EVENT_RETENTION_MS

    day_ms = 24 * 3600 * 1000
    assert MIN_PROCESSED_DAYS * day_ms > DEAD_LETTER_RETENTION_MS + EVENT_RETENTION_MS
