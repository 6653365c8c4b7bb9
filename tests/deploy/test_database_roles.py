"""The production database model on a real PostgreSQL server: the roles and grants of deploy/render/database.py
(the same statements as deploy/compose/postgres-init.sql and deploy/README.md), ``python -m shared.migrate`` as the
migrator role, and a service's runtime role that reads and writes rows but cannot change the schema, also in the
tables a later migration adds."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, insert, select, text, update

from bench.postgres import Postgres, available
from deploy.local.ports import free_port
from deploy.render import database, layout
from shared.db import SchemaNotCurrent, create_database, outbox, utcnow

SERVICE = "intake"


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    assert available(), "PostgreSQL (initdb, pg_ctl) is needed for the database role checks"
    with tempfile.TemporaryDirectory(prefix="ketalink-roles-") as directory:
        postgres = Postgres(Path(directory) / "pg").start()
        try:
            yield postgres
        finally:
            postgres.stop()


def _superuser(server: Postgres, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={server.port} user=ketalink dbname={dbname}", autocommit=True)


def _url(server: Postgres, role: str) -> str:
    return f"postgresql+psycopg://{role}@127.0.0.1:{server.port}/{database.roles(SERVICE).database}"


@pytest.fixture(scope="module")
def roles(server: Postgres) -> database.DatabaseRoles:
    with _superuser(server) as conn:
        for statement in database.cluster_statements(SERVICE, "runtime-local", "migrator-local"):
            conn.execute(statement)
    with _superuser(server, database.roles(SERVICE).database) as conn:
        for statement in database.database_statements(SERVICE):
            conn.execute(statement)
    return database.roles(SERVICE)


def _migrate(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "shared.migrate"], capture_output=True, text=True, env=env,
                          cwd=layout.ROOT, timeout=120, check=False)


def test_the_compose_init_script_is_these_statements():
    script = database.compose_init_sql()
    for service in layout.SERVICES:
        for statement in database.database_statements(service):
            assert f"{statement};" in script
        assert f"CREATE DATABASE {service} OWNER {service}_migrator;" in script


def test_the_runtime_role_cannot_start_before_the_migrations(server: Postgres, roles: database.DatabaseRoles,
                                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "false")
    with pytest.raises(SchemaNotCurrent, match="python -m shared.migrate"):
        create_database(_url(server, roles.runtime))
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "true")  # and it may not migrate itself
    with pytest.raises(Exception, match="permission denied|InsufficientPrivilege"):
        create_database(_url(server, roles.runtime))


def test_migrations_run_as_the_migrator_then_the_runtime_role_has_dml_only(
        server: Postgres, roles: database.DatabaseRoles, monkeypatch: pytest.MonkeyPatch):
    first = _migrate(_url(server, roles.migrator))
    assert first.returncode == 0, first.stderr
    assert "-> 0" in first.stdout and "empty" in first.stdout
    again = _migrate(_url(server, roles.migrator))  # the next rollout's Job: nothing to do, still success
    assert again.returncode == 0, again.stderr
    head = first.stdout.rsplit("-> ", 1)[1].strip()
    assert again.stdout.strip().endswith(f"{head} -> {head}")

    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "false")
    engine = create_database(_url(server, roles.runtime))  # the schema is current: the service starts
    with engine.begin() as conn:
        row_id = conn.execute(insert(outbox).values(
            message_id="m-1", topic="t", event_code="e", payload="{}", created_at=utcnow(), attempts=0)
        ).inserted_primary_key[0]  # the id sequence: USAGE granted
        conn.execute(update(outbox).where(outbox.c.id == row_id).values(attempts=1))
        assert conn.execute(select(outbox.c.attempts).where(outbox.c.id == row_id)).scalar_one() == 1
        conn.execute(outbox.delete().where(outbox.c.id == row_id))
    for ddl in ("CREATE TABLE sneaky (id int)", "ALTER TABLE outbox ADD COLUMN sneaky int", "DROP TABLE outbox",
                "TRUNCATE outbox"):
        with engine.connect() as conn, pytest.raises(Exception, match="permission denied|must be owner"):
            conn.execute(text(ddl))
    engine.dispose()

    # A table and sequence a later migration creates are covered by the default privileges.
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user={roles.migrator} dbname={roles.database}",
                         autocommit=True) as conn:
        conn.execute("CREATE TABLE later_table (id serial PRIMARY KEY, note text)")
    runtime = create_engine(_url(server, roles.runtime))
    with runtime.begin() as conn:
        conn.execute(text("INSERT INTO later_table (note) VALUES ('x')"))
        assert conn.execute(text("SELECT count(*) FROM later_table")).scalar_one() == 1
    runtime.dispose()


def test_migrate_exit_codes_and_no_password_in_its_messages():
    missing = subprocess.run([sys.executable, "-m", "shared.migrate"], capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, cwd=layout.ROOT,
                             timeout=60, check=False)
    assert missing.returncode == 2 and "DATABASE_URL" in missing.stderr
    assert _migrate("not a url").returncode == 2
    unreachable = _migrate(f"postgresql+psycopg://someone:s3cret-pw@127.0.0.1:{free_port()}/nothing")
    assert unreachable.returncode == 1, unreachable.stderr
    assert "migration failed" in unreachable.stderr and "Traceback" not in unreachable.stderr
    assert "s3cret-pw" not in unreachable.stderr + unreachable.stdout
