"""Steps on a versioned record run again when they meet a newer version, with the record locked, and a bound.
On a real SQLite store (the services' local store): a locked step holds the row until it commits, so a second
step that locks first reads the first one's change instead of failing on it."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shared.db import RecordStore, StaleRecordError, create_database
from shared.record_writes import MAX_TRIES, lock_record, without_needless_conflicts

KIND = "session"


def test_a_step_that_meets_a_newer_version_runs_again_locked():
    seen: list[bool] = []

    def step(locked: bool) -> str:
        seen.append(locked)
        if len(seen) == 1:
            raise StaleRecordError("session s1 changed since version 3")
        return "saved"

    assert without_needless_conflicts(step, "session s1") == "saved"
    assert seen == [False, True]


def test_the_retries_are_bounded_and_the_conflict_is_raised_at_the_end():
    tries: list[bool] = []

    def always_stale(locked: bool) -> None:
        tries.append(locked)
        raise StaleRecordError("session s1 changed since version 3")

    with pytest.raises(StaleRecordError):
        without_needless_conflicts(always_stale, "session s1")
    assert tries == [False] + [True] * (MAX_TRIES - 1)


def test_other_errors_are_not_retried():
    tries: list[bool] = []

    def refused(locked: bool) -> None:
        tries.append(locked)
        raise ValueError("session already discharged")

    with pytest.raises(ValueError):
        without_needless_conflicts(refused, "session s1")
    assert tries == [False]


def test_a_locked_step_waits_for_the_other_writer_and_reads_its_change(tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'records.db'}")
    store = RecordStore()
    with engine.begin() as conn:
        store.insert(conn, KIND, "s1", "p1", {"readings": []})
    first_locked, errors = threading.Event(), []

    def append(reading: str, hold_s: float, locked_event: threading.Event | None) -> None:
        try:
            with engine.begin() as conn:
                lock_record(conn, KIND, "s1")
                if locked_event is not None:
                    locked_event.set()
                current = store.get(conn, KIND, "s1")
                time.sleep(hold_s)
                store.update(conn, current, {"readings": current.body["readings"] + [reading]})
        except Exception as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    first = threading.Thread(target=append, args=("r1", 0.5, first_locked))
    first.start()
    assert first_locked.wait(10)
    second = threading.Thread(target=append, args=("r2", 0.0, None))  # reads only once the first has committed
    second.start()
    first.join(10)
    second.join(10)

    assert errors == []
    with engine.connect() as conn:
        stored = store.get(conn, KIND, "s1")
    assert stored.version == 3 and stored.body["readings"] == ["r1", "r2"]


def test_locking_a_record_that_does_not_exist_changes_nothing(tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'records.db'}")
    with engine.begin() as conn:
        lock_record(conn, KIND, "missing")
        assert RecordStore().find(conn, KIND, "missing") is None
