"""The cards a hook call returned, kept so feedback is attributed to the prescriber and patient: one write per hook
call with cards (none without), read back by uuid within their retention, pruned on the replay check's schedule;
feedback on a card not returned by this service to this EHR is refused naming the item's card."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from services.orders.cds_hooks.feedback import attribute
from services.orders.cds_hooks.settings import CdsHooksSettings
from services.orders.cds_hooks.store import CardFeedback, CdsStore, IssuedCard, PruneSchedule
from shared.db import cds_cards, create_database
from shared.web import ApiError

ISS = "https://ehr.example/cds"
SIGN = "ketalink-order-sign"
HOOK = "7f1d8c2e-5b8a-4a51-9c3e-0d2a6b1e4f90"


def _card(uuid: str, iss: str = ISS, service_id: str = SIGN) -> IssuedCard:
    return IssuedCard(uuid, service_id, iss, "Practitioner/prescriber-1", "p1", HOOK)


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: seen.append(statement))
    return seen


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cds_cards)).scalar_one()


def check_cards_are_one_insert_and_found_by_uuid(engine: Engine) -> None:
    """Also run on PostgreSQL (tests/integration/orders/test_cds_jti_store_postgres.py)."""
    store = CdsStore(engine)
    statements = _statements(engine)
    store.record_cards([_card("c1"), _card("c2"), _card("c3")])
    assert [s.split()[0] for s in statements] == ["INSERT"]  # one multi-row statement (executemany)
    statements.clear()
    store.record_cards([])
    assert statements == []
    issued = store.issued_cards(["c1", "c3", "never"])
    assert issued == {"c1": _card("c1"), "c3": _card("c3")}


def test_the_cards_of_a_hook_call_are_one_insert_and_a_call_without_cards_writes_nothing(tmp_path) -> None:
    check_cards_are_one_insert_and_found_by_uuid(create_database(f"sqlite:///{tmp_path / 'o.db'}"))


def test_a_card_past_its_retention_is_not_found_and_is_pruned_with_the_expired_jtis(tmp_path) -> None:
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    clock_now = [1000.0]
    store = CdsStore(engine, PruneSchedule(60, lambda: clock_now[0]), card_retention_s=600)
    store.record_cards([_card("live")])
    with engine.begin() as conn:
        conn.execute(cds_cards.insert().values(card_uuid="old", service_id=SIGN, iss=ISS, user_id="Practitioner/x",
                                               patient_id="p1", hook_instance=HOOK,
                                               expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert set(store.issued_cards(["live", "old"])) == {"live"}  # expired, even before the prune
    store.seen_jti(ISS, "first", int(time.time()) + 300)  # the first call prunes
    assert _count(engine) == 1
    with engine.connect() as conn:
        expires = conn.execute(select(cds_cards.c.expires_at)).scalar_one()
    left = expires.replace(tzinfo=expires.tzinfo or timezone.utc) - datetime.now(timezone.utc)
    assert timedelta(seconds=590) < left <= timedelta(seconds=600)  # the retention set


def _items(*uuids: str) -> list[CardFeedback]:
    return [CardFeedback(u, "ignored", datetime.now(timezone.utc), None, ()) for u in uuids]


@pytest.mark.parametrize("other", [None, _card("c2", iss="https://other.example/cds"),
                                   _card("c2", service_id="ketalink-order-select")])
def test_feedback_on_an_unknown_card_another_ehr_s_or_another_service_s_is_refused_naming_it(
        other: IssuedCard | None) -> None:
    issued = {"c1": _card("c1")} | ({"c2": other} if other else {})
    with pytest.raises(ApiError) as refused:
        attribute(_items("c1", "c2"), issued, SIGN, ISS)
    assert refused.value.status == 400
    assert [field for field, _ in refused.value.issues] == ["feedback[1].card"]
    attribute(_items("c1"), issued, SIGN, ISS)  # its own card: taken


@pytest.mark.parametrize("seconds", [599, 30 * 86_400 + 1])
def test_a_card_retention_outside_ten_minutes_to_thirty_days_stops_the_start(seconds: int) -> None:
    with pytest.raises(ValueError, match="card_retention_s"):
        CdsHooksSettings(card_retention_s=seconds).validate()
    CdsHooksSettings(card_retention_s=600).validate()
