"""Retention pruning and the backup/restore drill of docs/operations.md on the production store, a real PostgreSQL
(a throwaway cluster, as ``make bench`` starts one): the prune deletes only rows past retention, in batches, audited;
a ``pg_dump --format=custom`` of a service database restored with ``pg_restore`` into an empty one gives the same
rows and schema revision, and the service's store opens it without migrating anything."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.postgres import Postgres, available, postgres_bin
from shared.db import create_database, idempotency_keys, ops_actions, outbox, processed_messages
from tests.unit.shared.test_ops_prune import check_prune, fill

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not available() or not postgres_bin("pg_dump"),
                                 reason="PostgreSQL (initdb, pg_ctl, pg_dump) not installed")]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """Under /tmp itself: pytest's own temporary directories are closed to the postgres user PostgreSQL runs as."""
    root = Path(tempfile.mkdtemp(prefix="ketalink-ops-pg-"))
    server = Postgres(root / "cluster").start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_prune_on_postgresql(postgres):
    engine = create_database(postgres.new_database())
    try:
        check_prune(engine)
    finally:
        engine.dispose()


def test_backup_and_restore_drill(postgres, tmp_path: Path):
    source_url, target_url = postgres.new_database(), postgres.new_database()
    source = create_database(source_url)
    fill(source)
    dump = tmp_path / "intake.dump"
    subprocess.run([postgres_bin("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}",
                    _libpq(source_url)], check=True, timeout=120, capture_output=True)
    subprocess.run([postgres_bin("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq(target_url)}",
                    str(dump)], check=True, timeout=120, capture_output=True)
    restored = create_database(target_url)  # the service's own start: Alembic finds the schema at head
    try:
        assert _counts(source) == _counts(restored) and _counts(restored)["outbox"] == 10
        with source.connect() as a, restored.connect() as b:
            revision = "SELECT version_num FROM alembic_version"
            assert a.execute(text(revision)).scalar_one() == b.execute(text(revision)).scalar_one()
            # Sequences come back too: the next outbox event gets a new id, not one of the restored ones.
            before = b.execute(select(func.max(outbox.c.id))).scalar_one()
        with restored.begin() as conn:
            conn.execute(outbox.insert().values(message_id="after-restore", topic="t", message_key="p",
                                                event_code="e", payload="{}", created_at=func.now(), attempts=0))
            assert conn.execute(select(func.max(outbox.c.id))).scalar_one() > before
    finally:
        source.dispose()
        restored.dispose()


def _counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (processed_messages, idempotency_keys, outbox, ops_actions)}


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as the libpq URI pg_dump and pg_restore take."""
    parsed = make_url(url)
    return f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
