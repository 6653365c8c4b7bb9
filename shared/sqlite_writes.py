"""One writer at a time, in turn, for a service's SQLite store.

SQLite lets one connection write at a time. The web threads, the consumer and the outbox relay of one process
each take a pooled connection; when two want to write, the loser would wait in SQLite's busy handler, which
polls with growing sleeps, so under concurrent entries the slowest answers wait far longer than the writes take
(docs/performance.md). Here each connection takes a lock shared by the
process's connections to the same file before its first write of a transaction and gives it back after the
commit or rollback, so writers queue and the next one starts the moment the previous one commits. Reads take no
lock: WAL lets them run beside a writer.

This holds nothing longer than SQLite itself does (its write lock is held from the first write to the commit too),
and it only orders the threads of one process: SQLite is one process's store here (PostgreSQL is what several
processes share), and a second process would still be kept out by SQLite's own lock and busy timeout.
"""
from __future__ import annotations

import sqlite3
import threading
from typing import Any

WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteLockTimeout(sqlite3.OperationalError):
    """Another writer held the store longer than the busy timeout: the same failure SQLite itself would report."""


def serialised_connection_class(lock: threading.Lock, timeout_s: float) -> type[sqlite3.Connection]:
    """A ``sqlite3.Connection`` class (for ``sqlite3.connect(factory=...)``) whose write transactions take ``lock``.
    A plain lock, not a re-entrant one: a connection may be closed (and give the lock back) by another thread than
    the one that took it, e.g. by the garbage collector."""

    class SerialisedWritesConnection(sqlite3.Connection):
        _holds_write_lock = False

        def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
            return super().cursor(factory or SerialisedWritesCursor)

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
            return self.cursor().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
            return self.cursor().executemany(sql, parameters)

        def take_write_lock(self, sql: str) -> None:
            """Before the statement that makes the driver begin a write transaction."""
            if self._holds_write_lock or self.in_transaction:
                return
            if not sql.lstrip().upper().startswith(WRITE_STATEMENTS):
                return
            if not lock.acquire(timeout=timeout_s):
                raise WriteLockTimeout("database is locked (another writer held it past the busy timeout)")
            self._holds_write_lock = True

        def release_write_lock(self) -> None:
            if self._holds_write_lock:
                self._holds_write_lock = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                if not self.in_transaction:
                    self.release_write_lock()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.release_write_lock()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.release_write_lock()

    class SerialisedWritesCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
            self.connection.take_write_lock(sql)  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
            self.connection.take_write_lock(sql)  # type: ignore[attr-defined]
            return super().executemany(sql, parameters)

    return SerialisedWritesConnection
