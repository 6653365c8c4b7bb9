"""The SQL store each service keeps: an SQLite file by default, PostgreSQL through ``DATABASE_URL``.

Tables shared by every service live here: ``outbox`` (events waiting for the broker), ``processed_messages``
(inbound message ids already handled, so a redelivery has no effect) and ``records`` (each service's domain
records as versioned JSON documents). Writing a record and its outbox event in one transaction is what makes
"save and publish" one step.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint, create_engine, event,
    select, text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.config import load_settings
from shared.sqlite_writes import serialised_connection_class

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("message_key", String(200), nullable=True),
    Column("event_code", String(100), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True, index=True),
    Column("trace_context", Text, nullable=True),  # W3C traceparent/tracestate of the request that enqueued it
)

processed_messages = Table(
    "processed_messages", metadata,
    Column("message_id", String(64), primary_key=True),
    Column("topic", String(200), nullable=False),
    Column("event_code", String(100), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    Column("response", Text, nullable=True),
)

records = Table(
    "records", metadata,
    Column("kind", String(50), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("patient_id", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "record_id"),
)


idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("operation", String(200), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_digest", String(64), nullable=True),  # SHA-256 of the request body the answer belongs to
)


# Inbound records set aside because they kept failing (shared/events), so other patients' records move on; the
# same key's later records wait here behind them, in offset order. ``state``: retrying (due at next_attempt_at) or
# parked (given up; an alert, and ops replay or discard it).
held_records = Table(
    "held_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(200), nullable=False),
    Column("source_topic", String(200), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", Integer, nullable=False),
    Column("message_key", String(200), nullable=True, index=True),
    Column("value", LargeBinary, nullable=True),
    Column("headers", Text, nullable=False),  # JSON list of [name, base64 value]
    Column("state", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("consumer", "source_topic", "source_partition", "source_offset"),
)

# Every operations action (dead-letter replay or discard, a held record released, a prune): who, when, what, why.
ops_actions = Table(
    "ops_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(50), nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", String(300), nullable=False),
    Column("actor", String(300), nullable=False),  # a fhirUser reference, or the OS user of the CLI
    Column("reason", Text, nullable=False),
    Column("outcome", String(50), nullable=False),
    Column("acted_at", DateTime(timezone=True), nullable=False),
)

# Every message a service sent the EHR and what the EHR did with it (shared/ehr_delivery): the record it belongs to,
# its status (sent, applied, refused, retrying) and the EHR's reasons, so clinicians see what is not in the chart.
ehr_deliveries = Table(
    "ehr_deliveries", metadata,
    Column("message_id", String(64), primary_key=True),
    Column("event_code", String(100), nullable=False),
    Column("record_kind", String(50), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("reasons", Text, nullable=True),  # JSON list of the EHR's issue texts
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Index("ix_ehr_deliveries_record", "record_kind", "record_id"),
)

# CDS Hooks (services/orders/cds_hooks): the JWT ids already taken from each EHR, kept until the token expires, so a
# replayed token is refused; and the feedback on each card (accepted, overridden with its reason, ignored), by whom.
cds_jtis = Table(
    "cds_jtis", metadata,
    Column("iss", String(300), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

cds_feedback = Table(
    "cds_feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(100), nullable=False),
    Column("card_uuid", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("outcome_at", DateTime(timezone=True), nullable=False),
    Column("override_reason", Text, nullable=True),  # JSON: the overrideReason's coding and userComment
    Column("accepted_suggestions", Text, nullable=True),  # JSON list of suggestion uuids
    Column("actor", String(300), nullable=False),  # the hook's context.userId (a reference); before 0006 the sub
    Column("iss", String(300), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("patient_id", String(64), nullable=True),  # the hook's context.patientId (null before 0006)
    Column("hook_instance", String(36), nullable=True),
    UniqueConstraint("service_id", "card_uuid", "outcome", "outcome_at"),
)

# Each card a hook call returned, with who it was shown to (the hook's context.userId, a reference) and the patient:
# feedback names neither, so it is attributed by its card. Ids only; kept ORDERS_CDS_CARD_RETENTION_S.
cds_cards = Table(
    "cds_cards", metadata,
    Column("card_uuid", String(100), primary_key=True),
    Column("service_id", String(100), nullable=False),
    Column("iss", String(300), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("hook_instance", String(36), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


# The patient's questionnaire links of the treatment course (services/orders/course): only the SHA-256 of each
# link's token is kept; ``used_at`` is set in the transaction that records the score, so a link fills one score.
patient_links = Table(
    "patient_links", metadata,
    Column("link_id", String(64), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("course_id", String(64), nullable=False, index=True),
    Column("patient_id", String(64), nullable=False),
    Column("scale", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(300), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

def utcnow() -> datetime:
    return datetime.now(timezone.utc)


SQLITE_BUSY_TIMEOUT_S = 30


def create_database(database_url: str, *, schema_in_child: bool = False) -> Engine:
    """An engine with the tables created (or, with ``KETALINK_MIGRATE_ON_START=false``, checked to be current).

    ``schema_in_child``: a service process (``ServiceRuntime.from_environment``) migrates or checks its schema in a
    child interpreter (``shared/schema_start.py``), so Alembic and what it imports (Mako, Pygments, every dialect's
    DDL module: ~10 MB) never load into the long-running process; the step's failure still stops the start, with
    the same exception. An in-memory SQLite database (a child cannot see it) is prepared in this process."""
    engine = create_engine_for(database_url)
    migrate_on_start = load_settings(MigrationSettings, "KETALINK_").migrate_on_start
    if schema_in_child and not _in_memory(engine):
        from shared.schema_start import prepare_in_child

        prepare_in_child(database_url, migrate_on_start)
    elif migrate_on_start:
        migrate(engine)
    else:
        require_current_schema(engine)
    return engine


def _in_memory(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def create_engine_for(database_url: str) -> Engine:
    """An engine for the URL. SQLite gets WAL, a busy timeout and writers in turn (``shared/sqlite_writes.py``) so
    the web and worker threads share it."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        writers_in_turn = serialised_connection_class(threading.Lock(), timeout_s=SQLITE_BUSY_TIMEOUT_S)
        engine = create_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False,
                                                           "factory": writers_in_turn})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # the busy timeout is set by sqlite3.connect's ``timeout``
            cursor.close()
    else:
        engine = create_engine(database_url, pool_pre_ping=True)
    return engine


@dataclass(frozen=True)
class MigrationSettings:
    """``KETALINK_MIGRATE_ON_START``: true suits a local run, where the service owns its database. In Kubernetes a
    pre-rollout Job runs ``python -m shared.migrate`` with a DDL role and the services' roles may not change the
    schema, so the manifests set it false; a service then only checks that the schema is at the newest revision."""

    migrate_on_start: bool = True


class SchemaNotCurrent(RuntimeError):
    """The database is not at the newest migration and this process may not migrate it."""


def require_current_schema(engine: Engine) -> None:
    """Refuse to start on a schema older (or newer) than this code's, so a pod started before the migrations Job
    finished fails its start-up and is retried instead of writing to the wrong tables."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current != heads:
        raise SchemaNotCurrent(f"database schema at {sorted(current) or 'no revision'}, this code needs "
                               f"{sorted(heads)}: run `python -m shared.migrate` (KETALINK_MIGRATE_ON_START=false)")


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 728_1_2026  # PostgreSQL advisory lock: web and worker pods may start together


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (shared/migrations). A database made before migrations
    existed (tables but no ``alembic_version``) is stamped at the first revision, whose schema it has."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK_ID})
        config.attributes["connection"] = conn
        tables = set(inspect(conn).get_table_names())
        if "outbox" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")


class StaleRecordError(Exception):
    """The record changed since it was read (optimistic locking): the caller should reload and try again."""


class RecordNotFound(KeyError):
    """No record of that kind and id."""


@dataclass(frozen=True)
class StoredRecord:
    kind: str
    record_id: str
    patient_id: str
    version: int
    body: dict[str, Any]


class RecordStore:
    """Versioned JSON documents by kind and id; every write names the version it read."""

    def get(self, conn: Connection, kind: str, record_id: str) -> StoredRecord:
        row = conn.execute(
            select(records).where(records.c.kind == kind, records.c.record_id == record_id)
        ).mappings().first()
        if row is None:
            raise RecordNotFound(f"{kind} {record_id} not found")
        return StoredRecord(kind, row["record_id"], row["patient_id"], row["version"], json.loads(row["body"]))

    def find(self, conn: Connection, kind: str, record_id: str) -> StoredRecord | None:
        try:
            return self.get(conn, kind, record_id)
        except RecordNotFound:
            return None

    def list_for_patient(self, conn: Connection, kind: str, patient_id: str) -> list[StoredRecord]:
        rows = conn.execute(
            select(records).where(records.c.kind == kind, records.c.patient_id == patient_id)
            .order_by(records.c.created_at)
        ).mappings().all()
        return [StoredRecord(kind, r["record_id"], r["patient_id"], r["version"], json.loads(r["body"])) for r in rows]

    def insert(self, conn: Connection, kind: str, record_id: str, patient_id: str, body: dict[str, Any]) -> StoredRecord:
        now = utcnow()
        try:
            conn.execute(records.insert().values(
                kind=kind, record_id=record_id, patient_id=patient_id, version=1,
                body=json.dumps(body), created_at=now, updated_at=now,
            ))
        except IntegrityError:
            raise StaleRecordError(f"{kind} {record_id} already exists") from None
        return StoredRecord(kind, record_id, patient_id, 1, body)

    def update(self, conn: Connection, current: StoredRecord, body: dict[str, Any]) -> StoredRecord:
        result = conn.execute(
            records.update()
            .where(records.c.kind == current.kind, records.c.record_id == current.record_id,
                   records.c.version == current.version)
            .values(version=current.version + 1, body=json.dumps(body), updated_at=utcnow())
        )
        if result.rowcount != 1:
            raise StaleRecordError(f"{current.kind} {current.record_id} changed since version {current.version}")
        return StoredRecord(current.kind, current.record_id, current.patient_id, current.version + 1, body)
