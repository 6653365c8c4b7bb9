"""The CDS Hooks replay check's store on a real SQLite database (the PostgreSQL twin is
tests/integration/orders/test_cds_jti_store_postgres.py): a jti is refused while its token lives, in one statement,
also when two threads race with it; an expired record is taken over; expired ids are pruned at most once per
interval per process, never on every call."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from services.orders.cds_hooks.store import CdsStore, PruneSchedule
from shared.db import cds_jtis, create_database

ISS = "https://ehr.example/cds"


class StepClock:
    """A monotonic clock the test moves by hand (the schedule's only input)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cds_jtis)).scalar_one()


def _insert_expired(engine: Engine, jti: str) -> None:
    with engine.begin() as conn:
        conn.execute(cds_jtis.insert().values(iss=ISS, jti=jti,
                                              expires_at=datetime.now(timezone.utc) - timedelta(minutes=1)))


def check_replay_refused(engine: Engine) -> None:
    store = CdsStore(engine)
    expires = int(time.time()) + 300
    assert store.seen_jti(ISS, "a", expires) is False
    assert store.seen_jti(ISS, "a", expires) is True  # the replay
    assert store.seen_jti(ISS, "a", expires + 60) is True  # a longer-lived token with the same id: still a replay
    assert store.seen_jti("https://other.example/cds", "a", expires) is False  # ids are per issuer
    assert CdsStore(engine).seen_jti(ISS, "a", expires) is True  # another process's store (the same database)


def check_concurrent_first_use_wins_once(engine: Engine) -> None:
    store, expires = CdsStore(engine), int(time.time()) + 300
    answers: list[bool] = []
    start = threading.Barrier(8)

    def use() -> None:
        start.wait(timeout=60)
        answers.append(store.seen_jti(ISS, "raced", expires))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(answers) == [False] + [True] * 7


def check_expired_record_taken_over(engine: Engine) -> None:
    _insert_expired(engine, "old")
    store = CdsStore(engine, PruneSchedule(3600))
    store._prune.due()  # spend this interval's prune: the takeover must not depend on it
    assert store.seen_jti(ISS, "old", int(time.time()) + 300) is False
    assert store.seen_jti(ISS, "old", int(time.time()) + 300) is True
    with engine.connect() as conn:
        kept = conn.execute(select(cds_jtis.c.expires_at).where(cds_jtis.c.jti == "old")).scalar_one()
    assert kept.replace(tzinfo=timezone.utc) > datetime.now(timezone.utc)


def test_a_jti_is_refused_while_its_token_lives(tmp_path) -> None:
    check_replay_refused(create_database(f"sqlite:///{tmp_path / 'o.db'}"))


def test_racing_first_uses_of_one_jti_let_one_through(tmp_path) -> None:
    check_concurrent_first_use_wins_once(create_database(f"sqlite:///{tmp_path / 'o.db'}"))


def test_an_expired_record_of_the_jti_is_taken_over(tmp_path) -> None:
    check_expired_record_taken_over(create_database(f"sqlite:///{tmp_path / 'o.db'}"))


def test_the_schedule_answers_due_once_per_interval() -> None:
    clock = StepClock()
    schedule = PruneSchedule(60, clock)
    assert schedule.due() is True  # the first call: what a previous run left
    assert schedule.due() is False
    clock.now += 59.9
    assert schedule.due() is False
    clock.now += 0.1
    assert schedule.due() is True
    assert schedule.due() is False


def test_expired_ids_are_pruned_on_the_first_call_then_only_once_per_interval(tmp_path) -> None:
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    clock = StepClock()
    store = CdsStore(engine, PruneSchedule(60, clock))
    live = int(time.time()) + 300
    _insert_expired(engine, "left-by-last-run")
    store.seen_jti(ISS, "first", live)
    assert _count(engine) == 1  # the first call pruned

    for n in range(5):
        _insert_expired(engine, f"expired-{n}")
        store.seen_jti(ISS, f"call-{n}", live)
    assert _count(engine) == 1 + 5 + 5  # no call within the interval deleted anything

    clock.now += 60
    store.seen_jti(ISS, "after-interval", live)
    assert _count(engine) == 1 + 5 + 1  # the expired five are gone, every live id kept
    assert store.seen_jti(ISS, "call-3", live) is True  # a live id survives the prune
