"""The CDS hook's store facts on one connection, on PostgreSQL (the production store, where every pool checkout is
a ping and a rollback round trip; a throwaway cluster as ``make bench`` starts one): the same checks as on SQLite
(tests/unit/orders/test_cds_store_facts.py)."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.postgres import Postgres, available
from tests.unit.orders.test_cds_store_facts import check_a_commit_between_calls_is_seen, check_one_checkout_same_facts

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not available(), reason="PostgreSQL (initdb, pg_ctl) not installed")]


@pytest.fixture(scope="module")
def server() -> Iterator[Postgres]:
    """Under /tmp itself: pytest's own temporary directories are closed to the postgres user PostgreSQL runs as."""
    root = Path(tempfile.mkdtemp(prefix="ketalink-cds-facts-pg-"))
    started = Postgres(root / "cluster").start()
    yield started
    started.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_the_three_store_facts_share_one_checkout(server: Postgres) -> None:
    check_one_checkout_same_facts(server.new_database())


def test_a_commit_between_hook_calls_is_seen(server: Postgres) -> None:
    check_a_commit_between_calls_is_seen(server.new_database())
