"""Measure how long a new consumer group takes to receive its first record, for given group timings.

Usage: ``python -m bench.group_join`` (starts its own embedded broker on a free port) or with
``KAFKA_BOOTSTRAP_SERVERS`` set. Prints one line per setting: session/heartbeat ms → seconds to first record."""
from __future__ import annotations

import os
import sys
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer

from deploy.local.ports import free_port
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from tests.support.processes import ManagedProcess, base_environment, port_open

SETTINGS = ((45000, 3000), (10000, 3000), (6000, 2000), (2000, 500))


def time_to_first_record(bootstrap: str, session_ms: int, heartbeat_ms: int) -> float:
    topic = f"bench-join-{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap, topic_partitions=1), [topic])
    producer = KafkaProducer(bootstrap_servers=[bootstrap])
    producer.send(topic, b"x").get(timeout=10)
    producer.close()
    started = time.monotonic()
    consumer = KafkaConsumer(topic, bootstrap_servers=[bootstrap], group_id=f"g-{topic}",
                             auto_offset_reset="earliest", session_timeout_ms=session_ms,
                             heartbeat_interval_ms=heartbeat_ms, request_timeout_ms=session_ms + 10000)
    try:
        while not consumer.poll(timeout_ms=200):
            if time.monotonic() - started > 120:
                return float("inf")
        return time.monotonic() - started
    finally:
        consumer.close()


def main() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker = None
    if not bootstrap:
        port = free_port()
        broker = ManagedProcess("bench-broker", [sys.executable, "-m", "deploy.local.broker"],
                                base_environment() | {"BROKER_PORT": str(port)}, __import__("pathlib").Path("/tmp"),
                                port_open(port)).start()
        bootstrap = f"127.0.0.1:{port}"
    try:
        print(f"{'session_ms':>10} {'heartbeat_ms':>12} {'first record (s)':>17}")
        for session_ms, heartbeat_ms in SETTINGS:
            print(f"{session_ms:>10} {heartbeat_ms:>12} {time_to_first_record(bootstrap, session_ms, heartbeat_ms):>17.2f}",
                  flush=True)
    finally:
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
