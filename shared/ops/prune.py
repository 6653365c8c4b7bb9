"""Pruning of bookkeeping rows past their retention (``RetentionSettings``): processed message ids, answers kept for
``Idempotency-Key`` retries, outbox events the broker acknowledged, and held records ops discarded (their payload
is the only copy of a message Ketalink will never apply). Never an unsent event, a held record still active, a
record or the audit of operations actions.

Rows go in batches of ``batch_size``, one transaction each, so a prune of a large table neither holds long locks
against the services nor needs to finish in one go: stopped half-way, the next run carries on. A dry run counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Table, and_, delete, func, select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from shared.db import held_records, idempotency_keys, outbox, processed_messages, utcnow
from shared.ops import audit
from shared.ops.settings import RetentionSettings

DISCARDED = "discarded"  # shared/events/held.py: a held record ops set aside for good


@dataclass(frozen=True)
class PruneTarget:
    table: Table
    keys: tuple[Column, ...]  # the primary key, to delete one batch by
    older_than: datetime

    def condition(self) -> ColumnElement[bool]:
        if self.table is processed_messages:
            return processed_messages.c.processed_at < self.older_than
        if self.table is idempotency_keys:
            return idempotency_keys.c.created_at < self.older_than
        if self.table is held_records:
            return and_(held_records.c.state == DISCARDED, held_records.c.held_at < self.older_than)
        return and_(outbox.c.sent_at.is_not(None), outbox.c.sent_at < self.older_than)


@dataclass(frozen=True)
class PruneResult:
    table: str
    older_than: datetime
    rows: int  # counted (dry run) or deleted
    applied: bool


def targets(settings: RetentionSettings, now: datetime | None = None) -> list[PruneTarget]:
    now = now or utcnow()
    return [
        PruneTarget(processed_messages, (processed_messages.c.message_id,),
                    now - timedelta(days=settings.processed_days)),
        PruneTarget(idempotency_keys, (idempotency_keys.c.idempotency_key, idempotency_keys.c.operation),
                    now - timedelta(days=settings.idempotency_days)),
        PruneTarget(outbox, (outbox.c.id,), now - timedelta(days=settings.outbox_sent_days)),
        PruneTarget(held_records, (held_records.c.id,), now - timedelta(days=settings.held_discarded_days)),
    ]


def prune(engine: Engine, service: str, settings: RetentionSettings, *, apply: bool, actor: str,
          now: datetime | None = None) -> list[PruneResult]:
    """Count (dry run) or delete what is past retention; an applied prune is audited, one entry per table."""
    results = []
    for target in targets(settings, now):
        if apply:
            rows = _delete_in_batches(engine, target, settings.batch_size)
            with engine.begin() as conn:
                audit.record(conn, service, audit.PRUNE, target.table.name, actor,
                             f"retention: older than {target.older_than.isoformat(timespec='seconds')}; "
                             f"{rows} row(s) deleted", audit.DONE)
        else:
            with engine.connect() as conn:
                rows = conn.execute(select(func.count()).select_from(target.table)
                                    .where(target.condition())).scalar_one()
        results.append(PruneResult(target.table.name, target.older_than, int(rows), apply))
    return results


def _delete_in_batches(engine: Engine, target: PruneTarget, batch_size: int) -> int:
    deleted = 0
    while True:
        with engine.begin() as conn:
            keys = conn.execute(select(*target.keys).where(target.condition()).limit(batch_size)).all()
            if not keys:
                return deleted
            if len(target.keys) == 1:
                matched = target.keys[0].in_([k[0] for k in keys])
            else:
                matched = tuple_(*target.keys).in_([tuple(k) for k in keys])
            deleted += conn.execute(delete(target.table).where(matched, target.condition())).rowcount or 0
