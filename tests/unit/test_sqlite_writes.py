"""Writers in turn on a service's SQLite store: the lock is taken by a transaction's first write only, given back
after its commit or rollback, and concurrent writers all get through."""
from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from shared.db import RecordStore, create_database, records
from shared.sqlite_writes import WriteLockTimeout, serialised_connection_class


@pytest.fixture
def lock() -> threading.Lock:
    return threading.Lock()


@pytest.fixture
def connect(tmp_path: Path, lock: threading.Lock):  # type: ignore[no-untyped-def]
    path = tmp_path / "store.db"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    setup.close()
    connection_class = serialised_connection_class(lock, timeout_s=0.2)
    opened: list[sqlite3.Connection] = []

    def open_connection() -> sqlite3.Connection:
        connection = sqlite3.connect(path, factory=connection_class, check_same_thread=False)
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.close()


def test_a_read_takes_no_lock_and_a_write_holds_it_until_the_commit(connect, lock):
    connection = connect()
    connection.execute("SELECT count(*) FROM t").fetchone()
    assert not lock.locked()
    connection.cursor().execute("INSERT INTO t (v) VALUES ('a')")
    assert lock.locked()
    connection.execute("UPDATE t SET v = 'b'")  # the same transaction: no second acquire (it would time out)
    connection.commit()
    assert not lock.locked()


def test_a_rollback_gives_the_lock_back_also_after_a_failed_statement(connect, lock):
    connection = connect()
    connection.execute("INSERT INTO t (id, v) VALUES (1, 'a')")
    connection.commit()
    with pytest.raises(sqlite3.IntegrityError):
        connection.execute("INSERT INTO t (id, v) VALUES (1, 'again')")
    assert lock.locked()  # the driver began a transaction before the statement failed
    connection.rollback()
    assert not lock.locked()


def test_closing_a_connection_in_a_write_transaction_gives_the_lock_back(connect, lock):
    connection = connect()
    connection.execute("DELETE FROM t")
    assert lock.locked()
    connection.close()
    assert not lock.locked()


def test_a_second_writer_waits_for_the_first_and_gives_up_after_the_timeout(connect, lock):
    first, second = connect(), connect()
    first.execute("INSERT INTO t (v) VALUES ('first')")
    with pytest.raises(WriteLockTimeout):
        second.execute("INSERT INTO t (v) VALUES ('second')")
    assert isinstance(WriteLockTimeout("x"), sqlite3.OperationalError)  # handled wherever SQLite's own would be
    first.commit()
    second.execute("INSERT INTO t (v) VALUES ('second')")
    second.commit()
    assert [row[0] for row in first.execute("SELECT v FROM t ORDER BY id")] == ["first", "second"]


def test_concurrent_read_modify_write_transactions_all_commit(tmp_path: Path):
    """8 threads × 25 versioned updates of their own record through the service's engine: none is refused as
    locked and every version lands."""
    engine = create_database(f"sqlite:///{tmp_path / 'service.db'}")
    store = RecordStore()
    with engine.begin() as conn:
        for worker in range(8):
            store.insert(conn, "counter", f"c{worker}", "p1", {"count": 0})

    def bump(worker: int) -> None:
        for _ in range(25):
            with engine.begin() as conn:
                stored = store.get(conn, "counter", f"c{worker}")
                store.update(conn, stored, {"count": stored.body["count"] + 1})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bump, range(8)))
    with engine.connect() as conn:
        counts = [row.body for row in conn.execute(select(records.c.body).where(records.c.kind == "counter"))]
    assert sorted(counts) == ['{"count": 25}'] * 8
