"""``Idempotency-Key`` bookkeeping: a retried request gets the first answer again and changes nothing.

The key is claimed inside the request's own write transaction (``ServiceRuntime.transaction`` calls
``claim_in``), so a request's changes and its key commit together: if the service stops after the commit and before
the answer is stored, a retry finds the key claimed without an answer and is refused with 409 instead of making the
change a second time (a second draft order, a second intake). Two requests with the same key at the same time: the
second one's claim collides, its transaction rolls back and it gets 409; retried later, it gets the first answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, g, has_request_context
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shared.db import idempotency_keys, utcnow
from shared.web import ApiError

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 200  # the idempotency_keys column's size: a longer key is refused before any change
APPLIED_WITHOUT_ANSWER = 0  # status of a claimed key whose request committed but whose answer is not stored (yet)


@dataclass
class PendingKey:
    """The key of the request being handled, and whether a transaction of it has claimed the key."""

    key: str
    operation: str
    digest: str
    claimed: bool = False


def begin(key: str, operation: str, digest: str) -> None:
    """Mark the current request as carrying ``key``: its first write transaction will claim it."""
    g.idempotency_key = PendingKey(key, operation, digest)


def claim_in(conn: Connection) -> None:
    """Claim the current request's key in ``conn``'s transaction (once per request); nothing outside a request."""
    pending: PendingKey | None = g.get("idempotency_key") if has_request_context() else None
    if pending is None or pending.claimed:
        return
    try:
        _insert(conn, pending, status=APPLIED_WITHOUT_ANSWER, body="")
    except IntegrityError:  # the whole transaction rolls back with the ApiError
        raise ApiError(409, f"a request with this {IDEMPOTENCY_HEADER} is being handled; retry to get its answer",
                       expression=IDEMPOTENCY_HEADER) from None
    pending.claimed = True


def replay(engine: Engine, key: str, operation: str, digest: str) -> Response | None:
    """The stored answer for a retry; a key reused with another body is refused, never answered for it."""
    with engine.connect() as conn:
        row = conn.execute(select(idempotency_keys).where(*_row(key, operation))).first()
    if row is None:
        return None
    if row.request_digest is not None and row.request_digest != digest:
        raise ApiError(422, f"this {IDEMPOTENCY_HEADER} was already used for a different request; use a new key for "
                       "a new request", expression=IDEMPOTENCY_HEADER)
    if row.status == APPLIED_WITHOUT_ANSWER:
        raise ApiError(409, f"the request with this {IDEMPOTENCY_HEADER} was applied, or is being handled, but its "
                       "answer is not stored; read the current state instead of sending it again",
                       expression=IDEMPOTENCY_HEADER)
    return Response(row.body, status=row.status, mimetype="application/json", headers={"Idempotent-Replayed": "true"})


def remember(engine: Engine, response: Response) -> None:
    """Store the answer of the current request under its key (claimed by its transaction, or not: a request that
    changed nothing still answers the same to a retry)."""
    pending: PendingKey = g.idempotency_key
    values = {"status": response.status_code, "body": response.get_data(as_text=True)}
    if pending.claimed:
        with engine.begin() as conn:
            conn.execute(update(idempotency_keys).where(*_row(pending.key, pending.operation)).values(**values))
        return
    try:
        with engine.begin() as conn:
            _insert(conn, pending, **values)
    except IntegrityError:
        pass  # a concurrent retry stored its (equal) answer first


def forget(engine: Engine) -> None:
    """The request failed: free its key (a claim committed by a transaction before the failure included), so a
    retry runs it again as before."""
    pending: PendingKey | None = g.get("idempotency_key")
    if pending is not None and pending.claimed:
        with engine.begin() as conn:
            conn.execute(delete(idempotency_keys).where(*_row(pending.key, pending.operation),
                                                        idempotency_keys.c.status == APPLIED_WITHOUT_ANSWER))


def _insert(conn: Connection, pending: PendingKey, *, status: int, body: str) -> None:
    conn.execute(idempotency_keys.insert().values(
        idempotency_key=pending.key, operation=pending.operation, status=status, body=body, created_at=utcnow(),
        request_digest=pending.digest))


def _row(key: str, operation: str) -> tuple:
    return (idempotency_keys.c.idempotency_key == key, idempotency_keys.c.operation == operation)
