"""A service process's schema step in a child interpreter (shared/schema_start.py): the same outcomes as in-process
(migrated to head, an old schema refused with SchemaNotCurrent, a refusing database stops the start), on real SQLite
files and a real child interpreter; and Alembic stays out of the service's own process (issue 19, idle RSS)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from shared import migrate
from shared.db import SchemaNotCurrent, create_database
from shared.schema_start import SchemaStepFailed

REPOSITORY = Path(__file__).resolve().parents[3]


def _head(url: str) -> list[str]:
    engine = create_database(url)  # in this process: the reference the child must match
    try:
        return migrate.current_revisions(engine)
    finally:
        engine.dispose()


def test_the_child_migrates_a_new_database_to_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "true")
    engine = create_database(f"sqlite:///{tmp_path / 'child.db'}", schema_in_child=True)
    try:
        assert migrate.current_revisions(engine) == _head(f"sqlite:///{tmp_path / 'reference.db'}")
        assert {"outbox", "records", "patient_links"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_child_check_refuses_an_old_schema_and_passes_a_current_one(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "false")
    with pytest.raises(SchemaNotCurrent, match="python -m shared.migrate"):
        create_database(url, schema_in_child=True)
    assert migrate.run(url) == migrate.EXIT_OK
    create_database(url, schema_in_child=True).dispose()  # current now: it starts


def test_a_database_that_refuses_stops_the_start_naming_the_error_class(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "true")
    (tmp_path / "dir.db").mkdir()  # SQLite cannot open a directory as its file
    with pytest.raises(SchemaStepFailed, match="migrate failed: OperationalError") as failed:
        create_database(f"sqlite:///{tmp_path / 'dir.db'}", schema_in_child=True)
    assert "Traceback" not in str(failed.value)


def test_an_in_memory_database_is_prepared_in_this_process(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "true")
    engine = create_database("sqlite://", schema_in_child=True)  # a child could not see it
    try:
        assert migrate.current_revisions(engine)
    finally:
        engine.dispose()


def test_a_service_process_never_imports_alembic(tmp_path: Path):
    """What ``python -m services.<name>`` does before it serves: the runtime from the environment (settings, the
    database migrated by the child) and the service built; Alembic is not among its modules."""
    script = ("import json, sys\n"
              "from shared.runtime import ServiceRuntime\n"
              "from services.orders.bootstrap import build\n"
              "runtime = ServiceRuntime.from_environment('orders')\n"
              "build(runtime)\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments'))))\n")
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'orders.db'}",
           "KETALINK_LOCAL_RUN": "true", "SMART_AUTH_REQUIRED": "false", "KETALINK_MIGRATE_ON_START": "true",
           "EHR_BACKEND_AUTH": "none"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    engine = create_database(f"sqlite:///{tmp_path / 'orders.db'}")  # and the child did migrate its database
    try:
        assert migrate.current_revisions(engine) == _head(f"sqlite:///{tmp_path / 'reference.db'}")
    finally:
        engine.dispose()
