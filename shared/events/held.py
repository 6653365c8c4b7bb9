"""What operations can see and do with held records (the ops page and ``python -m shared.ops <service> held ...``).

A held record is an inbound Kafka record set aside because it kept failing, or because an earlier record of the same
key (patient) is held: ``shared/events/holding.py`` moves it to ``held_records`` and its consumer's retry worker
re-attempts each key's oldest one. This module only lists them and marks them; the records' values and headers stay
in the table and never leave it here (ids only, no PHI). Auditing an action (who, when, why) is the caller's job
(``ops_actions``): each function returns the record as it is after the change, for the audit line.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from shared.db import held_records, utcnow

# The states of a held record. ``retrying``: its key's oldest, re-attempted at ``next_attempt_at``. ``waiting``:
# behind an older held record of its key, not attempted yet (attempted as soon as it is the key's oldest).
# ``parked``: gave up after the attempt or age limit; stays, and its key's later records wait, until ops act.
# ``discarded``: set aside for good by ops; kept for the audit trail until retention pruning removes it.
RETRYING, WAITING, PARKED, DISCARDED = "retrying", "waiting", "parked", "discarded"
ACTIVE_STATES = (RETRYING, WAITING, PARKED)  # the states that keep the key's later records waiting
STATES = (*ACTIVE_STATES, DISCARDED)


@dataclass(frozen=True)
class HeldRecord:
    """One row of ``held_records`` without its value and headers."""

    id: int
    consumer: str
    source_topic: str
    source_partition: int
    source_offset: int
    message_key: str | None
    state: str
    attempts: int
    reason: str
    held_at: datetime
    next_attempt_at: datetime | None

    @property
    def ref(self) -> str:
        """``<topic>:<partition>:<offset>``, as dead-lettered records are named."""
        return f"{self.source_topic}:{self.source_partition}:{self.source_offset}"


class HeldRecordNotFound(LookupError):
    """No held record with that id."""


class HeldRecordConflict(ValueError):
    """The action does not apply to the record in its state; the message says why (for a clear 409/exit 2)."""


COLUMNS = (held_records.c.id, held_records.c.consumer, held_records.c.source_topic, held_records.c.source_partition,
           held_records.c.source_offset, held_records.c.message_key, held_records.c.state, held_records.c.attempts,
           held_records.c.reason, held_records.c.held_at, held_records.c.next_attempt_at)


def as_held_record(row: Any) -> HeldRecord:
    return HeldRecord(**{column.name: row._mapping[column.name] for column in COLUMNS})


def list_held(conn: Connection, consumer: str | None = None, *, include_discarded: bool = False) -> list[HeldRecord]:
    """Held records by consumer, topic, key and offset (each key's oldest first: the order they are retried in)."""
    query = select(*COLUMNS)
    if consumer is not None:
        query = query.where(held_records.c.consumer == consumer)
    if not include_discarded:
        query = query.where(held_records.c.state.in_(ACTIVE_STATES))
    query = query.order_by(held_records.c.consumer, held_records.c.source_topic, held_records.c.message_key,
                           held_records.c.source_offset)
    return [as_held_record(row) for row in conn.execute(query)]


def get_held(conn: Connection, held_id: int) -> HeldRecord:
    row = conn.execute(select(*COLUMNS).where(held_records.c.id == held_id)).first()
    if row is None:
        raise HeldRecordNotFound(f"no held record {held_id}")
    return as_held_record(row)


def key_head(conn: Connection, record: HeldRecord) -> HeldRecord:
    """The oldest active held record of ``record``'s key (``record`` itself when nothing older is held). A record
    without a key keeps no order with others: it is its own head."""
    if record.message_key is None:
        return record
    row = conn.execute(
        select(*COLUMNS).where(held_records.c.consumer == record.consumer,
                               held_records.c.source_topic == record.source_topic,
                               held_records.c.message_key == record.message_key,
                               held_records.c.state.in_(ACTIVE_STATES))
        .order_by(held_records.c.source_offset).limit(1)).first()
    return as_held_record(row) if row is not None else record


def release(conn: Connection, held_id: int) -> HeldRecord:
    """Make the record's key due now: its oldest held record is attempted at the retry worker's next pass (a parked
    one gets one more attempt; if that fails it is parked again), then the records behind it in key order. Releasing
    a record that waits behind another releases that other one: a key's records are only ever tried in order.
    Returns the record named, as it is now."""
    record = get_held(conn, held_id)
    if record.state == DISCARDED:
        raise HeldRecordConflict(f"held record {held_id} was discarded")
    head = key_head(conn, record)
    conn.execute(held_records.update().where(held_records.c.id == head.id)
                 .values(state=RETRYING, next_attempt_at=utcnow()))
    return get_held(conn, held_id)


def discard(conn: Connection, held_id: int) -> HeldRecord:
    """Set the record aside for good, so its key's next held record is attempted (at once). Only a key's oldest
    held record (the one that kept failing) can be discarded: the ones behind it have never been tried, and
    skipping one of them would break the key's order without anyone having seen it fail. The EHR or the service
    then never gets the discarded message: the clinic's work it carried must be sent again from its source. The
    row stays (state ``discarded``) for the audit trail until retention pruning removes it."""
    record = get_held(conn, held_id)
    if record.state == DISCARDED:
        raise HeldRecordConflict(f"held record {held_id} is already discarded")
    head = key_head(conn, record)
    if head.id != record.id:
        raise HeldRecordConflict(f"held record {held_id} waits behind held record {head.id} of the same key: only a "
                                 "key's oldest held record can be discarded")
    conn.execute(held_records.update().where(held_records.c.id == held_id)
                 .values(state=DISCARDED, next_attempt_at=None))
    _make_next_due(conn, record)
    return get_held(conn, held_id)


def _make_next_due(conn: Connection, record: HeldRecord) -> None:
    """The key's next held record, if any, becomes its head and is attempted at the worker's next pass."""
    following = key_head(conn, record)
    if following.id != record.id and following.state == WAITING:
        conn.execute(held_records.update().where(held_records.c.id == following.id)
                     .values(state=RETRYING, next_attempt_at=utcnow()))
