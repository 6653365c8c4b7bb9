"""``python -m shared.migrate`` and ``KETALINK_MIGRATE_ON_START`` on SQLite (tests/deploy/test_database_roles.py runs
the same against PostgreSQL with a DDL role and a DML-only role)."""
from __future__ import annotations

from pathlib import Path

import pytest

from shared import migrate
from shared.config import SettingsError
from shared.db import SchemaNotCurrent, create_database


def test_migrates_to_head_and_again_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert migrate.main([]) == migrate.EXIT_OK
    first = capsys.readouterr().out
    assert "empty ->" in first
    head = first.rsplit("-> ", 1)[1].strip()
    assert migrate.main([]) == migrate.EXIT_OK
    assert capsys.readouterr().out.strip().endswith(f"{head} -> {head}")


def test_a_service_that_may_not_migrate_refuses_an_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "false")
    with pytest.raises(SchemaNotCurrent, match="python -m shared.migrate"):
        create_database(url)
    assert migrate.run(url) == migrate.EXIT_OK
    create_database(url).dispose()  # current now: it starts
    monkeypatch.setenv("KETALINK_MIGRATE_ON_START", "maybe")
    with pytest.raises(SettingsError, match="KETALINK_MIGRATE_ON_START"):
        create_database(url)


def test_bad_usage_exits_2_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert migrate.main([]) == migrate.EXIT_USAGE
    assert "DATABASE_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "no url at all")
    assert migrate.main([]) == migrate.EXIT_USAGE
    assert "not a database URL" in capsys.readouterr().err


def test_a_database_that_refuses_exits_1_naming_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "dir.db").mkdir()  # SQLite cannot open a directory as its file
    assert migrate.run(f"sqlite:///{tmp_path / 'dir.db'}") == migrate.EXIT_FAILED
    err = capsys.readouterr().err
    assert "migration failed (OperationalError)" in err and "Traceback" not in err
