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
        conn.execute(text("DROP TABLE ehr_deliveries"))
        conn.execute(text("DROP TABLE cds_jtis"))
        conn.execute(text("DROP TABLE cds_feedback"))
        conn.execute(text("DROP TABLE patient_links"))
        conn.execute(text("DROP TABLE cds_cards"))
        conn.execute(text("INSERT INTO records (kind, record_id, patient_id, version, body, created_at, updated_at)"
                          " VALUES ('intake', 'i1', 'p1', 1, '{}', '2026-01-01', '2026-01-01')"))
    engine = create_database(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0006"
        assert "request_digest" in {c["name"] for c in inspect(conn).get_columns("idempotency_keys")}
        assert "trace_context" in {c["name"] for c in inspect(conn).get_columns("outbox")}
        assert {"held_records", "ops_actions", "cds_jtis", "cds_feedback", "patient_links"} <= set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT count(*) FROM records")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM ehr_deliveries")).scalar_one() == 0


def test_intakes_earlier_delivery_records_are_copied_into_ehr_deliveries(tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    legacy = create_engine(url)
    metadata.create_all(legacy)
    refused = ('{"message_id": "m1", "event_code": "intake-eligibility-decided", "intake_id": "i1", '
               '"queued_at": "2026-11-01T10:00:00+00:00", "ehr_response": {"code": "fatal-error", '
               '"issues": ["Patient inactive"], "received_at": "2026-11-01T10:00:05+00:00"}}')
    unanswered = ('{"message_id": "m2", "event_code": "intake-reopened", "intake_id": "i1", '
                  '"queued_at": "2026-11-02T10:00:00+00:00", "ehr_response": null}')
    with legacy.begin() as conn:
        for table in ("ehr_deliveries", "held_records", "ops_actions", "cds_jtis", "cds_feedback", "patient_links", "cds_cards"):  # back to the first revision's schema
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("ALTER TABLE idempotency_keys DROP COLUMN request_digest"))
        conn.execute(text("ALTER TABLE outbox DROP COLUMN trace_context"))
        for record_id, body in (("m1", refused), ("m2", unanswered)):
            conn.execute(text("INSERT INTO records (kind, record_id, patient_id, version, body, created_at, updated_at)"
                              " VALUES ('intake-ehr-delivery', :id, 'p1', 1, :body, '2026-01-01', '2026-01-01')"),
                         {"id": record_id, "body": body})
    engine = create_database(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT message_id, record_kind, record_id, status, reasons FROM ehr_deliveries "
                                 "ORDER BY message_id")).all()
    assert [tuple(r) for r in rows] == [("m1", "intake", "i1", "refused", '["Patient inactive"]'),
                                        ("m2", "intake", "i1", "sent", "[]")]
