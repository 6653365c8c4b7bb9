"""The Alembic migrations build exactly the schema the code declares, and adopt a database made before them."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import shared.smart.sessions  # noqa: F401 - the SMART tables live on the shared metadata
from shared.db import create_database, metadata


def test_migrated_schema_matches_the_declared_tables(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_a_database_from_before_migrations_is_adopted_not_recreated(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = create_engine(url)
    metadata.create_all(legacy)
    with legacy.begin() as conn:  # back to the schema of the first revision, which such databases have
        conn.execute(text("ALTER TABLE idempotency_keys DROP COLUMN request_digest"))
        conn.execute(text("ALTER TABLE outbox DROP COLUMN trace_context"))
        conn.execute(text("DROP TABLE held_records"))
        conn.execute(text("DROP TABLE ops_actions"))
        conn.execute(text("INSERT INTO records (kind, record_id, patient_id, version, body, created_at, updated_at)"
                          " VALUES ('intake', 'i1', 'p1', 1, '{}', '2026-01-01', '2026-01-01')"))
    engine = create_database(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
        assert "request_digest" in {c["name"] for c in inspect(conn).get_columns("idempotency_keys")}
        assert "trace_context" in {c["name"] for c in inspect(conn).get_columns("outbox")}
        assert {"held_records", "ops_actions"} <= set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 1
