"""The outbox backlog counts every unsent event (not one relay batch) and dates the oldest, for metrics and ops."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from shared.db import create_database, outbox
from shared.events.outbox import OutboxBacklog, OutboxRelay, enqueue, outbox_backlog
from shared.fhir.messaging import build_message

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}


def _enqueue(engine, count: int) -> None:
    with engine.begin() as conn:
        for n in range(count):
            enqueue(conn, "topic", f"p{n}", build_message("a", "urn:t", [OBSERVATION], message_id=f"m{n}"))


def test_an_empty_outbox_has_no_backlog(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    with engine.connect() as conn:
        backlog = outbox_backlog(conn)
    assert backlog == OutboxBacklog(pending=0, oldest_created_at=None)
    assert backlog.oldest_age_s(datetime.now(timezone.utc)) == 0.0


def test_the_backlog_counts_beyond_one_relay_batch_and_dates_the_oldest(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    _enqueue(engine, 250)
    saved_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.message_id == "m7").values(created_at=saved_at))
        backlog = outbox_backlog(conn)
    assert backlog.pending == 250
    assert backlog.oldest_created_at == saved_at
    assert backlog.oldest_age_s(saved_at + timedelta(minutes=3)) == 180.0


def test_sent_events_leave_the_backlog(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    _enqueue(engine, 3)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.message_id.in_(["m0", "m1"]))
                     .values(sent_at=datetime.now(timezone.utc)))
    with engine.connect() as conn:
        backlog = outbox_backlog(conn)
    assert backlog.pending == 1


def test_the_relay_batch_size_does_not_cap_the_backlog(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    _enqueue(engine, 12)
    relay = OutboxRelay(engine, lambda: None, batch_size=5)
    with engine.connect() as conn:
        assert len(relay._pending(conn, lock=False)) == 5
        assert outbox_backlog(conn).pending == 12
