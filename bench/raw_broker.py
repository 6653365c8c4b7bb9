"""The raw broker baseline: kafka-python alone, producing records the size of the FHIR messages and consuming them
in a consumer group, through the same broker, with no service in between.

The consumer runs as its own process (``python -m bench.raw_broker <bootstrap> <topic> <group> <mode>``), as a
service's consumer does, and prints ``partition offset arrival-time`` for each record. Two modes:
- ``auto``: kafka-python's defaults (offsets auto-committed in the background): what the broker and client can do;
- ``per-record``: a synchronous commit after each record, as the services' ConsumerLoop does so that a record is
  never lost: the floor the services' at-least-once design puts under their own rate."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

from kafka import KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from bench.stats import Latency, Throughput
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from tests.support.processes import ROOT, base_environment

MODES = ("auto", "per-record")


@dataclass(frozen=True)
class RawResult:
    mode: str
    throughput: Throughput
    latency: Latency
    record_bytes: int


def measure(bootstrap: str, mode: str, count: int, one_by_one: int, record: bytes, partitions: int,
            timeout_s: float = 120.0) -> RawResult:
    """``count`` records at once (throughput), then ``one_by_one`` records each sent after the previous arrived
    (latency), on a fresh topic with ``partitions`` partitions."""
    from bench.inbound import BenchError
    from kafka import KafkaProducer

    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap, topic_partitions=partitions), [topic])
    consumer = _ConsumerProcess(bootstrap, topic, mode)
    producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", enable_idempotence=True, linger_ms=5,
                             client_id="bench-raw-producer")
    try:
        consumer.wait_ready(timeout_s=60)
        sent_at: dict[tuple[int, int], float] = {}

        def send(n: int) -> None:
            futures = []
            for i in range(n):
                started = time.time()
                futures.append((started, producer.send(topic, value=record, key=f"key-{i}".encode())))
            producer.flush(timeout=60)
            for started, future in futures:
                metadata = future.get(timeout=30)
                sent_at[(metadata.partition, metadata.offset)] = started

        send(count)
        arrivals = consumer.arrivals(count, timeout_s)
        if len(arrivals) < count:
            raise BenchError(f"raw consumer ({mode}) got {len(arrivals)} of {count} records in {timeout_s:.0f} s")
        first = min(sent_at.values())
        throughput = Throughput.between(first, list(arrivals.values()))
        latencies = []
        for _ in range(one_by_one):
            before = set(sent_at)
            send(1)
            [key] = set(sent_at) - before
            arrived = consumer.arrivals(1, 30)
            if key not in arrived:
                raise BenchError(f"raw consumer ({mode}): a record did not arrive in 30 s")
            latencies.append(arrived[key] - sent_at[key])
        return RawResult(mode, throughput, Latency.of_seconds(latencies), len(record))
    finally:
        producer.close(timeout=10)
        consumer.stop()


class _ConsumerProcess:
    def __init__(self, bootstrap: str, topic: str, mode: str):
        env = base_environment()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.raw_broker", bootstrap, topic, f"bench-raw-{uuid.uuid4().hex[:8]}", mode],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)

    def wait_ready(self, timeout_s: float) -> None:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise RuntimeError("raw consumer did not join its group in time") from None
        if line.strip() != "ready":
            raise RuntimeError(f"raw consumer said {line!r}")

    def arrivals(self, count: int, timeout_s: float) -> dict[tuple[int, int], float]:
        """(partition, offset) → arrival time of the next ``count`` records (fewer if the timeout passes)."""
        found: dict[tuple[int, int], float] = {}
        deadline = time.monotonic() + timeout_s
        while len(found) < count:
            try:
                partition, offset, at = self._lines.get(timeout=max(0.0, deadline - time.monotonic())).split()
            except queue.Empty:
                break
            found[(int(partition), int(offset))] = float(at)
        return found

    def stop(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, 15)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait(5)


def consume(bootstrap: str, topic: str, group: str, mode: str) -> None:
    """The consumer process: join the group, say ``ready`` once partitions are assigned, print each arrival."""
    settings = KafkaSettings(bootstrap_servers=bootstrap)
    timing = {key: int(os.environ.get(f"KAFKA_{key.upper()}", default)) for key, default in
              (("session_timeout_ms", settings.session_timeout_ms),
               ("heartbeat_interval_ms", settings.heartbeat_interval_ms))}
    # The fetch wait the services' consumers use (Tansu holds a fetch until it ends; see kafka_clients.py).
    fetch_wait_ms = getattr(settings, "fetch_max_wait_ms", 500)
    consumer = KafkaConsumer(topic, bootstrap_servers=[bootstrap], group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=(mode == "auto"), client_id="bench-raw-consumer",
                             fetch_max_wait_ms=fetch_wait_ms, **timing)
    out = sys.stdout
    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    out.write("ready\n")
    out.flush()
    while True:
        for partition, batch in consumer.poll(timeout_ms=500).items():
            for record in batch:
                if mode == "per-record":  # done = committed, as in the services' loop
                    consumer.commit({TopicPartition(record.topic, record.partition):
                                     OffsetAndMetadata(record.offset + 1, "", -1)})
                out.write(f"{record.partition} {record.offset} {time.time():.6f}\n")
            out.flush()


if __name__ == "__main__":
    consume(*sys.argv[1:5])
