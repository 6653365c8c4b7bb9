"""ketalink_dead_letters_waiting counts a service's dead letters that nobody dealt with yet, on the real broker: one
dead-lettered record shows as 1 on its dead-letter topic, and 0 once ops discarded it (audited); another consumer's
dead letters on the same topic are not counted."""
from __future__ import annotations

import uuid
from pathlib import Path

from kafka import KafkaProducer
from prometheus_client import REGISTRY

from shared.db import create_database
from shared.events.dead_letter_watch import DeadLetterWatch
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import EHR_EVENTS, dead_letter_topic
from shared.ops.dead_letters import DeadLetterRef
from tests.conftest import Broker

DLQ = dead_letter_topic(EHR_EVENTS)


def dead_letter(bootstrap: str, consumer: str) -> DeadLetterRef:
    producer = KafkaProducer(bootstrap_servers=[bootstrap])
    try:
        metadata = producer.send(DLQ, value=b"not a FHIR message", key=b"patient-key", headers=[
            ("dlq-reason", b"not JSON: JSONDecodeError"), ("dlq-consumer", consumer.encode()),
            ("dlq-source-topic", EHR_EVENTS.encode()), ("dlq-source-partition", b"0"),
            ("dlq-source-offset", b"7")]).get(timeout=30)
    finally:
        producer.close()
    return DeadLetterRef(DLQ, metadata.partition, metadata.offset)


def waiting() -> float | None:
    return REGISTRY.get_sample_value("ketalink_dead_letters_waiting", {"topic": DLQ})


def test_waiting_dead_letters_are_counted_until_ops_deal_with_them(broker: Broker, tmp_path: Path):
    from shared.ops.actions import OpsService

    consumer = f"ketalink-orders-watch-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
    engine = create_database(f"sqlite:///{tmp_path / 'orders.db'}")
    watch = DeadLetterWatch("orders", engine, kafka, consumer, interval_s=300)
    ensure_topics(kafka, [DLQ])  # as the worker does at start (Apache Kafka creates no topic on first use)

    dead_letter(broker.bootstrap, "ketalink-someone-else")
    assert watch.check()[DLQ] == 0 and waiting() == 0.0
    ref = dead_letter(broker.bootstrap, consumer)
    counts = watch.check()
    assert counts[DLQ] == 1 and waiting() == 1.0
    assert set(counts) == {dead_letter_topic(topic) for topic in ("ehr.events", "ehr.responses",
                                                                  "ketalink.intake.events",
                                                                  "ketalink.documentation.events")}
    OpsService("orders", engine, kafka, consumer).discard(ref, "a test record, nothing to replay", "test")
    assert watch.check()[DLQ] == 0 and waiting() == 0.0
