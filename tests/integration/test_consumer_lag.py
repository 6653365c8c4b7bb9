"""Consumer lag from kafka-python's own view of a real broker: a partition's highwater minus the group's committed
offset (or the partition's start while nothing is committed), exported per partition, and following the loop's
commits."""
from __future__ import annotations

import time
import uuid

from kafka import KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from shared.events.consumer_health import ConsumerHealth
from shared.events.kafka_clients import KafkaSettings, close_consumer, create_consumer, ensure_topics
from tests.conftest import Broker
from tests.support.processes import group_timing_environment

RECORDS = 5


def settings(bootstrap: str) -> KafkaSettings:
    timing = {key.removeprefix("KAFKA_").lower(): int(value) for key, value in group_timing_environment().items()}
    return KafkaSettings(bootstrap_servers=bootstrap, topic_partitions=1, **timing)


def lag(consumer: str, topic: str) -> float | None:
    return REGISTRY.get_sample_value("ketalink_consumer_lag", {"consumer": consumer, "topic": topic, "partition": "0"})


def test_lag_is_what_the_group_has_not_committed_yet(broker: Broker):
    kafka = settings(broker.bootstrap)
    topic = f"ketalink.test.lag.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka, [topic])
    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap])
    for n in range(RECORDS):
        producer.send(topic, value=f"record {n}".encode(), partition=0).get(timeout=30)
    producer.close()

    name = f"ketalink-lag-{uuid.uuid4().hex[:8]}"
    consumer = create_consumer(kafka, name, [topic], name)
    health = ConsumerHealth(name)
    partition = TopicPartition(topic, 0)
    try:
        deadline = time.monotonic() + 60
        while lag(name, topic) is None and time.monotonic() < deadline:
            consumer.poll(timeout_ms=500)  # records fetched, none processed nor committed
            health.polled(consumer)
        assert lag(name, topic) == RECORDS  # nothing committed: counted from the partition's start
        assert health.problem(60.0) is None  # it joined

        consumer.commit({partition: OffsetAndMetadata(3, "", -1)})
        health.committed(partition, 3)
        health.polled(consumer)
        assert lag(name, topic) == RECORDS - 3
    finally:
        close_consumer(consumer)
