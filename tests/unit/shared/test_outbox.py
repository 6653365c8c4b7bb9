"""The outbox keeps events while the broker is unreachable and sends them, in order, once it is back."""
import pytest
from kafka.errors import KafkaError
from sqlalchemy import select

from shared.db import create_database, outbox
from shared.events.outbox import OutboxRelay, enqueue
from shared.fhir.messaging import build_message

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}


class UnreachableBroker:
    """A named fake for a broker that is down: every send fails as kafka-python's does."""

    def send(self, *args, **kwargs):
        raise KafkaError("broker not available")

    def flush(self):
        pass

    def close(self, timeout=None):
        pass


def test_events_stay_pending_while_the_broker_is_down(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    with engine.begin() as conn:
        enqueue(conn, "topic", "p1", build_message("a", "urn:t", [OBSERVATION], message_id="m1"))
    relay = OutboxRelay(engine, UnreachableBroker)
    with pytest.raises(KafkaError):
        relay.send_pending()
    with engine.connect() as conn:
        rows = conn.execute(select(outbox)).mappings().all()
    assert [(r["message_id"], r["sent_at"]) for r in rows] == [("m1", None)]


def test_the_same_event_cannot_be_enqueued_twice(tmp_path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    message = build_message("a", "urn:t", [OBSERVATION], message_id="m1")
    with engine.begin() as conn:
        enqueue(conn, "topic", "p1", message)
    with pytest.raises(Exception):
        with engine.begin() as conn:
            enqueue(conn, "topic", "p1", message)
