"""One order being entered, kept server-side between the form's steps (the cards and the draft are larger than a
session cookie holds): the draft, the latest cards and which hook gave them, and the feedback already sent. In
memory: an order left half-entered when the sandbox restarts is simply entered again."""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ENTRY_LIFETIME_S = 3600
MAX_ENTRIES = 500


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
    created: float = field(default_factory=time.time)
    placing: threading.Lock = field(default_factory=threading.Lock)  # one Place at a time (a double click)

    def card(self, card_uuid: str) -> dict[str, Any] | None:
        return next((card for card in self.cards if card.get("uuid") == card_uuid), None)

    @property
    def signed(self) -> bool:
        """The shown cards are order-sign's for the current draft: the order may be placed from them."""
        return self.hook == "order-sign"

    def critical_cards(self) -> list[dict[str, Any]]:
        return [card for card in self.cards if card.get("indicator") == "critical"]


class Entries:
    def __init__(self) -> None:
        self._entries: dict[str, OrderEntry] = {}
        self._lock = threading.Lock()

    def new(self, username: str, patient_id: str, encounter_id: str | None, draft: dict[str, Any]) -> OrderEntry:
        with self._lock:
            now = time.time()
            for key in [k for k, e in self._entries.items() if now - e.created > ENTRY_LIFETIME_S]:
                del self._entries[key]
            if len(self._entries) >= MAX_ENTRIES:
                del self._entries[min(self._entries, key=lambda k: self._entries[k].created)]
            entry = OrderEntry(secrets.token_urlsafe(16), username, patient_id, encounter_id, draft)
            self._entries[entry.entry_id] = entry
            return entry

    def get(self, entry_id: str, username: str) -> OrderEntry | None:
        """Only the user who started the entry gets it."""
        with self._lock:
            entry = self._entries.get(entry_id)
        return entry if entry is not None and entry.username == username else None
