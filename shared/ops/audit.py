"""The audit of operations actions (``ops_actions``): who did what to which record, why, and how it ended.

Kafka cannot delete one record from a dead-letter topic, so the audit is also what tells a dead letter that has
been dealt with (replayed or discarded) from one still waiting: ``settled_targets``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from shared.db import ops_actions, utcnow

REPLAY = "dead-letter-replay"
DISCARD = "dead-letter-discard"
HELD_RELEASE = "held-release"
HELD_DISCARD = "held-discard"
PRUNE = "prune"
DONE = "done"
FAILED = "failed"
MAX_REASON = 500
MAX_ACTOR = 300


class OpsUsageError(ValueError):
    """An operations request that cannot be carried out as asked (no reason, an unknown record): nothing changed."""


class OpsConflict(OpsUsageError):
    """The action does not apply to the record as it is now (a held record already discarded): nothing changed."""


@dataclass(frozen=True)
class OpsAction:
    service: str
    action: str
    target: str
    actor: str
    reason: str
    outcome: str
    acted_at: datetime


def checked_reason(reason: str | None) -> str:
    """A reason is required for every action that changes what reaches the EHR; one line, bounded."""
    text = " ".join((reason or "").split())
    if not text:
        raise OpsUsageError("a reason is required (--reason TEXT): say why, for the audit")
    if "\x00" in text:
        raise OpsUsageError("the reason contains a NUL character")
    return text[:MAX_REASON]


def record(conn: Connection, service: str, action: str, target: str, actor: str, reason: str,
           outcome: str) -> OpsAction:
    if not actor.strip():
        raise OpsUsageError("who acts is unknown: no actor for the audit")
    entry = OpsAction(service, action, target[:300], actor[:MAX_ACTOR], reason, outcome[:50], utcnow())
    conn.execute(ops_actions.insert().values(
        service=entry.service, action=entry.action, target=entry.target, actor=entry.actor, reason=entry.reason,
        outcome=entry.outcome, acted_at=entry.acted_at))
    return entry


def settled_targets(conn: Connection, service: str) -> dict[str, str]:
    """Dead-letter refs replayed or discarded with success, and the last such action on each."""
    rows = conn.execute(
        select(ops_actions.c.target, ops_actions.c.action)
        .where(ops_actions.c.service == service, ops_actions.c.outcome == DONE,
               ops_actions.c.action.in_((REPLAY, DISCARD)))
        .order_by(ops_actions.c.id)).all()
    return {target: action for target, action in rows}


def recent(conn: Connection, service: str, limit: int = 50) -> list[OpsAction]:
    rows = conn.execute(select(ops_actions).where(ops_actions.c.service == service)
                        .order_by(ops_actions.c.id.desc()).limit(limit)).mappings().all()
    return [OpsAction(r["service"], r["action"], r["target"], r["actor"], r["reason"], r["outcome"], r["acted_at"])
            for r in rows]
