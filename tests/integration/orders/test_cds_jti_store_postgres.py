"""The CDS Hooks replay check's store on PostgreSQL (the production store; a throwaway cluster as ``make bench``
starts one): the same checks as on SQLite (tests/unit/orders/test_cds_jti_store.py), with PostgreSQL's own
``INSERT ... ON CONFLICT`` and eight threads racing on one jti through the connection pool."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bench.postgres import Postgres, available
from shared.db import create_database
from tests.unit.orders.test_cds_card_store import check_cards_are_one_insert_and_found_by_uuid
from tests.unit.orders.test_cds_jti_store import (
    check_concurrent_first_use_wins_once, check_expired_record_taken_over, check_replay_refused,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not available(), reason="PostgreSQL (initdb, pg_ctl) not installed")]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """Under /tmp itself: pytest's own temporary directories are closed to the postgres user PostgreSQL runs as."""
    root = Path(tempfile.mkdtemp(prefix="ketalink-jti-pg-"))
    server = Postgres(root / "cluster").start()
    made = create_database(server.new_database())
    yield made
    made.dispose()
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_a_jti_is_refused_while_its_token_lives(engine: Engine) -> None:
    check_replay_refused(engine)


def test_racing_first_uses_of_one_jti_let_one_through(engine: Engine) -> None:
    check_concurrent_first_use_wins_once(engine)


def test_an_expired_record_of_the_jti_is_taken_over(engine: Engine) -> None:
    check_expired_record_taken_over(engine)


def test_the_cards_of_a_hook_call_are_one_insert_and_found_by_uuid(engine: Engine) -> None:
    check_cards_are_one_insert_and_found_by_uuid(engine)
