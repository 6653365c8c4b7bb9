"""Orders being entered and placed, kept server-side between the form's steps (the cards and the draft are larger
than a session cookie holds) in the sandbox's own SQLite file (``<data dir>/order-entry.db``), so an order
half-entered, or placed and waiting for the orders service's answer, is still there after a restart, as a hospital
CPOE keeps its orders. Each entry is one JSON document (the draft, the latest cards and which hook gave them, the
feedback sent); the orders service's answers to placed orders (``cpoe-order-response``) are kept by the id of the
message they answer, apart from the entries, because an answer may arrive before the entry has noted that id.

One Place at a time per entry (a double click, or two tabs) is a row claim (``placing``), not a lock in memory: a
claim left by a process that stopped mid-place is released when the store is opened again (placing again is
idempotent on the order's EHR identifier)."""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DAY_S = 86400
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS order_entries (
        entry_id TEXT PRIMARY KEY, username TEXT NOT NULL, created REAL NOT NULL,
        placed_message_id TEXT, placed_at REAL, placing INTEGER NOT NULL DEFAULT 0, document TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS order_entries_created ON order_entries (created)",
    """CREATE TABLE IF NOT EXISTS order_answers (
        message_id TEXT PRIMARY KEY, response_code TEXT NOT NULL, outcome TEXT NOT NULL, received REAL NOT NULL)""",
)


@dataclass
class OrderEntry:
    entry_id: str
    username: str
    patient_id: str
    encounter_id: str | None
    draft: dict[str, Any]
    hook: str = ""  # the hook whose cards are shown
    service_id: str = ""
    cards: list[dict[str, Any]] = field(default_factory=list)
    feedback_sent: list[dict[str, Any]] = field(default_factory=list)
    feedback_stored: int = 0  # how many feedback items the CDS service says it stored
    placed_message_id: str | None = None
    placed_order_id: str | None = None  # the MedicationRequest filed in the EHR's store
    withdrawn: bool = False  # the prescriber discontinued the placed order (after Ketalink refused it)
    created: float = field(default_factory=time.time)

    def card(self, card_uuid: str) -> dict[str, Any] | None:
        return next((card for card in self.cards if card.get("uuid") == card_uuid), None)

    @property
    def signed(self) -> bool:
        """The shown cards are order-sign's for the current draft: the order may be placed from them."""
        return self.hook == "order-sign"

    def critical_cards(self) -> list[dict[str, Any]]:
        return [card for card in self.cards if card.get("indicator") == "critical"]


@dataclass(frozen=True)
class StoredAnswer:
    """The orders service's answer to one placed order's message, as received."""

    response_code: str  # ok | transient-error | fatal-error
    outcome: dict[str, Any]  # its OperationOutcome ({} without one)
    received: float


class Entries:
    def __init__(self, path: Path, entry_lifetime_s: int = 8 * 3600, placed_kept_days: int = 30,
                 release_claims: bool = True):
        """``release_claims``: this process is the one that places orders, so no Place is in progress yet."""
        self._path = path
        self._lifetime_s = entry_lifetime_s
        self._placed_kept_s = placed_kept_days * DAY_S
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        path.chmod(0o600)
        with self._db() as db:
            for statement in SCHEMA:
                db.execute(statement)
            if release_claims:
                db.execute("UPDATE order_entries SET placing = 0 WHERE placing = 1")

    @contextmanager
    def _db(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection per use (Flask's threads and the engine's consumer share the file), one transaction."""
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def new(self, username: str, patient_id: str, encounter_id: str | None, draft: dict[str, Any]) -> OrderEntry:
        entry = OrderEntry(secrets.token_urlsafe(16), username, patient_id, encounter_id, draft)
        now = time.time()
        with self._db() as db:
            db.execute("DELETE FROM order_entries WHERE (placed_message_id IS NULL AND created < ?) "
                       "OR placed_at < ?", (now - self._lifetime_s, now - self._placed_kept_s))
            db.execute("DELETE FROM order_answers WHERE received < ?", (now - self._placed_kept_s,))
            db.execute("INSERT INTO order_entries (entry_id, username, created, document) VALUES (?, ?, ?, ?)",
                       (entry.entry_id, username, entry.created, _document(entry)))
        return entry

    def get(self, entry_id: str, username: str) -> OrderEntry | None:
        """Only the user who started the entry gets it; a draft past its lifetime is gone."""
        with self._db(write=False) as db:
            row = db.execute("SELECT document, placed_message_id, created FROM order_entries "
                             "WHERE entry_id = ? AND username = ?", (entry_id, username)).fetchone()
        if row is None or (row[1] is None and row[2] < time.time() - self._lifetime_s):
            return None
        return OrderEntry(**json.loads(row[0]))

    def save(self, entry: OrderEntry) -> None:
        """The entry's steps so far (cards, draft, feedback); the placed message id only through ``placed``."""
        with self._db() as db:
            db.execute("UPDATE order_entries SET document = ? WHERE entry_id = ?", (_document(entry), entry.entry_id))

    def claim_placing(self, entry_id: str) -> bool:
        """True for the one request that may place the entry now (not placed, no Place in progress)."""
        with self._db() as db:
            return db.execute("UPDATE order_entries SET placing = 1 WHERE entry_id = ? AND placing = 0 "
                              "AND placed_message_id IS NULL", (entry_id,)).rowcount == 1

    def placed(self, entry: OrderEntry, message_id: str, order_id: str | None = None) -> None:
        entry.placed_message_id, entry.placed_order_id = message_id, order_id
        with self._db() as db:
            db.execute("UPDATE order_entries SET placed_message_id = ?, placed_at = ?, placing = 0, document = ? "
                       "WHERE entry_id = ?", (message_id, time.time(), _document(entry), entry.entry_id))

    def release_placing(self, entry_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE order_entries SET placing = 0 WHERE entry_id = ?", (entry_id,))

    def record_answer(self, message_id: str, response_code: str, outcome: dict[str, Any]) -> None:
        """The latest answer to ``message_id`` (a transient-error may be followed by the final one)."""
        with self._db() as db:
            db.execute("INSERT INTO order_answers (message_id, response_code, outcome, received) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (message_id) DO UPDATE SET response_code = excluded.response_code, "
                       "outcome = excluded.outcome, received = excluded.received",
                       (message_id, response_code, json.dumps(outcome), time.time()))

    def answer(self, message_id: str | None) -> StoredAnswer | None:
        if not message_id:
            return None
        with self._db(write=False) as db:
            row = db.execute("SELECT response_code, outcome, received FROM order_answers WHERE message_id = ?",
                             (message_id,)).fetchone()
        return None if row is None else StoredAnswer(row[0], json.loads(row[1]), row[2])


def _document(entry: OrderEntry) -> str:
    return json.dumps(asdict(entry), separators=(",", ":"))
