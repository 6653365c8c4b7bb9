"""The CDS Hooks tables (``shared/db.py``): JWT ids taken, kept until their token expires, and card feedback,
stored once per card, outcome and outcome time so a CDS client's retry changes nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.db import cds_feedback, cds_jtis, utcnow


@dataclass(frozen=True)
class CardFeedback:
    """One feedback item, checked (``feedback.py``)."""

    card_uuid: str
    outcome: str  # accepted | overridden | ignored
    outcome_at: datetime
    override_reason: dict[str, Any] | None
    accepted_suggestions: tuple[str, ...]


class CdsStore:
    def __init__(self, engine: Engine):
        self._engine = engine

    def seen_jti(self, iss: str, jti: str, expires_at: int) -> bool:
        """Record ``jti``; True when it was recorded before (a replay). Expired ids are pruned on the way."""
        now = utcnow()
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(cds_jtis).where(cds_jtis.c.expires_at < now))
                conn.execute(cds_jtis.insert().values(
                    iss=iss, jti=jti, expires_at=datetime.fromtimestamp(expires_at, timezone.utc)))
        except IntegrityError:
            return True
        return False

    def record_feedback(self, service_id: str, items: list[CardFeedback], actor: str, iss: str) -> int:
        """Store each item not stored before; the number newly stored."""
        stored = 0
        for item in items:
            try:
                with self._engine.begin() as conn:
                    conn.execute(cds_feedback.insert().values(
                        service_id=service_id, card_uuid=item.card_uuid, outcome=item.outcome,
                        outcome_at=item.outcome_at,
                        override_reason=json.dumps(item.override_reason) if item.override_reason else None,
                        accepted_suggestions=json.dumps(list(item.accepted_suggestions)) if item.accepted_suggestions
                        else None,
                        actor=actor, iss=iss, received_at=utcnow()))
                stored += 1
            except IntegrityError:
                continue  # a retry of feedback already stored
        return stored
