"""The CDS Hooks tables (``shared/db.py``): JWT ids taken, kept until their token expires; the cards returned, with
the prescriber and patient of the hook call, kept for a bounded time; and card feedback, attributed through its
card and stored once per card, outcome and outcome time so a CDS client's retry changes nothing."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.db import cds_cards, cds_feedback, cds_jtis, utcnow

# Expired ids are only clutter (a token past its ``exp`` is refused before its jti is looked at, and an expired row
# is taken over by a new token with the same id): deleting them once a minute per process keeps the table to about
# one token lifetime of calls without a DELETE in every hook call's write.
JTI_PRUNE_INTERVAL_S = 60.0
CARD_RETENTION_S = 86_400  # ORDERS_CDS_CARD_RETENTION_S's default


@dataclass(frozen=True)
class CardFeedback:
    """One feedback item, checked (``feedback.py``)."""

    card_uuid: str
    outcome: str  # accepted | overridden | ignored
    outcome_at: datetime
    override_reason: dict[str, Any] | None
    accepted_suggestions: tuple[str, ...]


@dataclass(frozen=True)
class IssuedCard:
    """A card a hook call returned: the service, the calling EHR and whom and which patient it was shown for."""

    card_uuid: str
    service_id: str
    iss: str
    user_id: str  # the hook's context.userId: a reference such as Practitioner/123
    patient_id: str
    hook_instance: str


class PruneSchedule:
    """At most one prune per ``interval_s`` in this process: ``due()`` answers True to one caller per interval."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic):
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._next_at: float | None = None  # the first call prunes (what a previous run left)

    def due(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._next_at is not None and now < self._next_at:
                return False
            self._next_at = now + self._interval_s
            return True


class CdsStore:
    def __init__(self, engine: Engine, prune: PruneSchedule | None = None,
                 card_retention_s: int = CARD_RETENTION_S):
        self._engine = engine
        self._prune = prune or PruneSchedule(JTI_PRUNE_INTERVAL_S)
        self._card_retention = timedelta(seconds=card_retention_s)

    def seen_jti(self, iss: str, jti: str, expires_at: int) -> bool:
        """Record ``jti``; True when it is recorded and not yet expired (a replay). One statement in the database
        shared by every process, so a replay to another worker or replica is refused too; an expired record of the
        same id is taken over, as if it had been pruned."""
        now = utcnow()
        with self._engine.begin() as conn:
            recorded = self._record(conn, iss, jti, datetime.fromtimestamp(expires_at, timezone.utc), now)
        if self._prune.due():
            self.prune_expired(now)
        return not recorded

    def prune_expired(self, now: datetime) -> int:
        """Delete the ids whose token has expired and the cards past their retention (both ``expires_at`` are
        indexed), on the one schedule; the number deleted."""
        with self._engine.begin() as conn:
            return conn.execute(delete(cds_jtis).where(cds_jtis.c.expires_at < now)).rowcount + \
                conn.execute(delete(cds_cards).where(cds_cards.c.expires_at < now)).rowcount

    def record_cards(self, cards: list[IssuedCard]) -> None:
        """One multi-row INSERT in one transaction for the cards of one hook call; nothing at all when it returned
        none (a protocol-correct order, the common case)."""
        if not cards:
            return
        expires_at = utcnow() + self._card_retention
        with self._engine.begin() as conn:
            conn.execute(cds_cards.insert(), [
                {"card_uuid": c.card_uuid, "service_id": c.service_id, "iss": c.iss, "user_id": c.user_id,
                 "patient_id": c.patient_id, "hook_instance": c.hook_instance, "expires_at": expires_at}
                for c in cards])

    def issued_cards(self, card_uuids: list[str]) -> dict[str, IssuedCard]:
        """The cards among ``card_uuids`` still within their retention, by uuid (one indexed read)."""
        columns = cds_cards.c
        query = select(columns.card_uuid, columns.service_id, columns.iss, columns.user_id, columns.patient_id,
                       columns.hook_instance).where(columns.card_uuid.in_(set(card_uuids)),
                                                    columns.expires_at >= utcnow())
        with self._engine.connect() as conn:
            return {row.card_uuid: IssuedCard(*row) for row in conn.execute(query)}

    def _record(self, conn: Connection, iss: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Insert the id, or take over an expired record of it; False when a live record holds it."""
        values = {"iss": iss, "jti": jti, "expires_at": expires_at}
        dialect = {"postgresql": postgresql, "sqlite": sqlite}[conn.dialect.name]  # the two databases Ketalink runs on
        upsert = dialect.insert(cds_jtis).values(**values).on_conflict_do_update(
            index_elements=[cds_jtis.c.iss, cds_jtis.c.jti], set_={"expires_at": expires_at},
            where=cds_jtis.c.expires_at < now).returning(cds_jtis.c.jti)  # a row back: inserted or taken over
        return conn.execute(upsert).first() is not None

    def record_feedback(self, service_id: str, items: list[CardFeedback], cards: dict[str, IssuedCard],
                        iss: str) -> int:
        """Store each item not stored before, as the act of its card's prescriber for its card's patient (every
        item's card is in ``cards``: ``feedback.attribute``); the number newly stored."""
        stored = 0
        for item in items:
            card = cards[item.card_uuid]
            try:
                with self._engine.begin() as conn:
                    conn.execute(cds_feedback.insert().values(
                        service_id=service_id, card_uuid=item.card_uuid, outcome=item.outcome,
                        outcome_at=item.outcome_at,
                        override_reason=json.dumps(item.override_reason) if item.override_reason else None,
                        accepted_suggestions=json.dumps(list(item.accepted_suggestions)) if item.accepted_suggestions
                        else None,
                        actor=card.user_id, iss=iss, received_at=utcnow(), patient_id=card.patient_id,
                        hook_instance=card.hook_instance))
                stored += 1
            except IntegrityError:
                continue  # a retry of feedback already stored
        return stored
