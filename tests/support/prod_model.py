"""The production process model for the tests (``KETALINK_TEST_PROCESS_MODEL=prod``, ``make test-prod``).

What ``make run`` and the other tests start as one process per service (web and worker threads, a SQLite file)
runs here as production runs it (deploy/docker, deploy/k8s): per service a PostgreSQL database with the roles and
grants of ``deploy/render/database.py`` (as deployed), its schema made by ``python -m shared.migrate`` as the
migrator role that owns it, and the service on its runtime role (data rights only, no DDL) with
``KETALINK_MIGRATE_ON_START=false``; gunicorn with 2 workers (``deploy/docker/gunicorn.conf.py``, prometheus
multiprocess mode) for the web part and ``services.<name>.worker`` as a separate process for the consumer and outbox
relay, under ``deploy/docker/ketalink_worker.py`` (its probes and metrics) as the worker Deployment runs it.

The PostgreSQL cluster is the benchmark's (``bench/postgres.py``: ``initdb``/``pg_ctl`` on a free loopback port, as
the ``postgres`` user when the tests run as root), started on first use and stopped when the test process exits.
Roles log in without a password (trust on loopback in a throwaway cluster); what they may do is what production's
roles may do. docs/operations.md, "The production process model by hand", runs the same model without the tests."""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from bench.postgres import Postgres, available
from deploy.render import database
from deploy.local.ports import free_port
from tests.support.processes import ROOT, ManagedProcess, http_ok

PROCESS_MODEL_VARIABLE = "KETALINK_TEST_PROCESS_MODEL"
WEB_WORKERS = 2


def prod_model() -> bool:
    """True under ``make test-prod``; the other values (unset, ``local``) keep one process per service on SQLite."""
    value = os.environ.get(PROCESS_MODEL_VARIABLE, "local")
    if value not in ("local", "prod"):
        raise RuntimeError(f"{PROCESS_MODEL_VARIABLE} must be local or prod, not {value!r}")
    return value == "prod"


@dataclass(frozen=True)
class ServiceDatabase:
    """One service's database: the migrator's URL (owner, DDL) and the service's URL (data rights only)."""

    name: str
    ddl_url: str
    runtime_url: str


class PostgresForServices:
    """The test process's one PostgreSQL cluster and the databases made in it."""

    def __init__(self) -> None:
        self._cluster: Postgres | None = None
        self._lock = threading.Lock()
        self._databases: dict[tuple[str, str], ServiceDatabase] = {}

    def cluster(self) -> Postgres:
        with self._lock:
            if self._cluster is None:
                if not available():
                    raise RuntimeError(f"{PROCESS_MODEL_VARIABLE}=prod needs PostgreSQL's initdb and pg_ctl")
                self._cluster = Postgres(Path(tempfile.mkdtemp(prefix="ketalink-prod-model-")) / "pg").start()
                atexit.register(self._cluster.stop)
            return self._cluster

    def database_for(self, service: str, data_dir: Path) -> ServiceDatabase:
        """The database of ``service`` started with ``data_dir`` (the same one for a restart), created, migrated
        by its DDL role and granted to its runtime role on first use."""
        key = (service, str(data_dir))
        if key not in self._databases:
            self._databases[key] = self._create(service)
        return self._databases[key]

    def _create(self, service: str) -> ServiceDatabase:
        """The roles and grants production uses (``deploy/render/database.py``), under a name of their own (one
        cluster holds every test's databases), then ``python -m shared.migrate`` as the migrator role."""
        import psycopg

        cluster = self.cluster()
        names = database.roles(f"{service}_{uuid.uuid4().hex[:8]}")
        superuser = f"host=127.0.0.1 port={cluster.port} user=ketalink"
        with psycopg.connect(f"{superuser} dbname=postgres", autocommit=True) as conn:
            for statement in database.cluster_statements(names.database, "runtime-test", "migrator-test"):
                conn.execute(statement)
        with psycopg.connect(f"{superuser} dbname={names.database}", autocommit=True) as conn:
            for statement in database.database_statements(names.database):
                conn.execute(statement)
        url = f"postgresql+psycopg://{{role}}@127.0.0.1:{cluster.port}/{names.database}"
        created = ServiceDatabase(names.database, url.format(role=names.migrator), url.format(role=names.runtime))
        migrated = subprocess.run([sys.executable, "-m", "shared.migrate"], cwd=ROOT, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": created.ddl_url},
                                  timeout=120)
        if migrated.returncode != 0:
            raise RuntimeError(f"shared.migrate for {names.database}: {migrated.stderr.strip()}")
        return created


POSTGRES = PostgresForServices()


class ServiceProcesses:
    """One service as production runs it: the gunicorn web process and the worker process, started, stopped and
    killed together (a crash of the service's pods). Both write to one log file; ``env`` is the worker's (its
    consumer group is ``env["CONSUMER_GROUP"]``)."""

    def __init__(self, name: str, web: ManagedProcess, worker: ManagedProcess | None):
        self.name = name
        self.web = web
        self.worker = worker
        self.env = (worker or web).env

    @property
    def log_path(self) -> Path:
        return self.web.log_path

    @log_path.setter
    def log_path(self, path: Path) -> None:
        for process in self._processes():
            process.log_path = path

    def _processes(self) -> list[ManagedProcess]:
        return [self.web] + ([self.worker] if self.worker else [])

    def start(self) -> "ServiceProcesses":
        try:
            for process in self._processes():
                process.start()
        except BaseException:  # one did not start (or the run was interrupted): leave none running
            self.stop(10.0)
            raise
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        for process in reversed(self._processes()):
            process.stop(timeout_s)

    def kill(self) -> None:
        for process in reversed(self._processes()):
            process.kill()

    def log_since_start(self) -> bytes:
        return self.web.log_since_start()


def prod_service(name: str, log_dir: Path, data_dir: Path, env: dict[str, str], port: int) -> ServiceProcesses:
    """``env``: what ``tests.support.processes.service`` gives a service (broker, EHR, consumer group, tokens);
    here the database, the web server and the worker change. ``RUN_WORKER=false`` in it: the web part alone."""
    database = POSTGRES.database_for(name, data_dir)
    base_url = f"http://127.0.0.1:{port}"
    common = {**env, "DATABASE_URL": database.runtime_url, "KETALINK_MIGRATE_ON_START": "false",
              "PUBLIC_BASE_URL": base_url}
    metrics_dir = data_dir / f"{name}-metrics"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    web_env = {**common, "KETALINK_SERVICE": name, "WEB_CONCURRENCY": str(WEB_WORKERS), "HTTP_HOST": "127.0.0.1",
               "HTTP_PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    web = ManagedProcess(name, [sys.executable, "-m", "gunicorn", "--config",
                                str(ROOT / "deploy" / "docker" / "gunicorn.conf.py"), f"services.{name}.wsgi:app"],
                         web_env, log_dir, http_ok(f"{base_url}/healthz"), ready_timeout_s=120.0)
    worker = None
    if env.get("RUN_WORKER", "true").lower() != "false":
        # As the worker Deployment runs it: the probes' and metrics' wrapper around ``services.<name>.worker``.
        health_port = free_port()
        worker_env = {**{k: v for k, v in common.items() if k not in ("HTTP_PORT", "PROMETHEUS_MULTIPROC_DIR")},
                      "WORKER_METRICS_PORT": str(health_port)}
        worker = ManagedProcess(name, [sys.executable, str(ROOT / "deploy" / "docker" / "ketalink_worker.py"),
                                       f"services.{name}.worker"], worker_env, log_dir,
                                http_ok(f"http://127.0.0.1:{health_port}/healthz"), ready_timeout_s=120.0)
    return ServiceProcesses(name, web, worker)


def database_url(name: str, data_dir: Path) -> str:
    """The URL ``tests.support.processes.service`` gives service ``name`` started with ``data_dir``: its SQLite file,
    or under ``make test-prod`` its PostgreSQL database (the runtime role), for tests that read or seed it."""
    if prod_model():
        return POSTGRES.database_for(name, data_dir).runtime_url
    return f"sqlite:///{data_dir / f'{name}.db'}"


def table_digests(url: str) -> dict[str, str]:
    """A digest of every table's rows (in any order), read beside the service's own connections: SQLite read-only,
    PostgreSQL in a read-only transaction."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True, timeout=30) as conn:
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {table: _digest(conn.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables}
    from sqlalchemy import text

    engine, tables = _reader(url)
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        return {table: _digest(conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()) for table in tables}


_READERS: dict[str, tuple[Engine, list[str]]] = {}


def _reader(url: str) -> tuple[Engine, list[str]]:
    """One pooled engine and the table list per database (the schema does not change while a test runs: the
    service's role cannot change it)."""
    if url not in _READERS:
        from sqlalchemy import create_engine, inspect

        engine = create_engine(url, pool_size=1)
        with engine.connect() as conn:
            _READERS[url] = (engine, inspect(conn).get_table_names())
    return _READERS[url]


def _digest(rows: list) -> str:
    import hashlib

    return hashlib.sha256(repr(sorted(repr(tuple(row)) for row in rows)).encode()).hexdigest()
