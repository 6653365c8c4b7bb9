"""Test-side Kafka helpers: publish as the EHR would, and read a topic (e.g. a dead-letter topic) from the start."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import all_topics


def publish(bootstrap: str, topic: str, value: bytes | dict[str, Any], key: str = "test",
            headers: list[tuple[str, bytes]] | None = None) -> None:
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), all_topics())
    producer = KafkaProducer(bootstrap_servers=[bootstrap])
    payload = value if isinstance(value, bytes) else json.dumps(value).encode()
    producer.send(topic, value=payload, key=key.encode(), headers=headers or []).get(timeout=30)
    producer.close()


def read_all(bootstrap: str, topic: str, timeout_s: float = 5.0) -> list[Any]:
    """Every record now on ``topic`` (all partitions), without joining a group."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], enable_auto_commit=False, group_id=None,
                             client_id=f"test-reader-{uuid.uuid4().hex[:6]}")
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assignment = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        end = consumer.end_offsets(assignment)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(consumer.position(tp) < end[tp] for tp in assignment):
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def read_messages(bootstrap: str, topic: str) -> list[Any]:
    """The FHIR messages on ``topic``, oldest first, skipping records that are not one (tests put garbled records on
    the shared topics on purpose, to check the dead-letter path)."""
    from shared.fhir.messaging import MessageError, parse_message

    messages = []
    for record in read_all(bootstrap, topic):
        try:
            messages.append(parse_message(json.loads(record.value)))
        except (ValueError, MessageError):
            continue
    return messages


def wait_for(predicate: Any, timeout_s: float = 30.0, interval_s: float = 0.25, what: str = "condition",
             explain: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test with ``what`` (and what ``explain``
    says of the state then) after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval_s)
    detail = f" {explain()}" if explain else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{detail}")
