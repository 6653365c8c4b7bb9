"""Drive an inbound path: publish EHR events as the EHR's interface engine would, and time each one to where its
path ends (the service committed it; the EHR answered the message it caused).

Two runs per path, because one number cannot be both:
- throughput: all N messages published at once; msgs/s = N / (last done - first sent), the rate the path drains
  a backlog at. Latencies in that run are mostly queueing and are not reported.
- latency: M messages one at a time, each sent when the previous one is done, so p50/p99 are the path's own
  time with nothing queued ahead of it."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kafka import KafkaProducer

from bench.memory import CpuMeter
from bench.stats import Latency, Throughput
from bench.watch import ProcessedLog, TopicWatcher, wait_until
from shared.fhir.datatypes import FhirJson


class BenchError(RuntimeError):
    """A measurement that could not be made (messages not done in time, refused, dead-lettered)."""


@dataclass(frozen=True)
class Sent:
    key: str
    message_id: str
    event_code: str
    partition: int
    offset: int
    sent_at: float
    size: int


class PathEnd(Protocol):
    """One place a path can be said to end; ``name`` labels it in the results."""

    name: str

    def refresh(self) -> None: ...

    def done_at(self, sent: Sent) -> float | None: ...

    def failure(self, sent: Sent) -> str | None: ...


class Publisher:
    """One producer configured as the services' (acks=all, idempotent, linger 5 ms)."""

    def __init__(self, bootstrap: str):
        self._producer = KafkaProducer(bootstrap_servers=[bootstrap], acks="all", enable_idempotence=True,
                                       linger_ms=5, max_request_size=4 * 1024 * 1024, client_id="bench-publisher")

    def close(self) -> None:
        self._producer.close(timeout=10)

    def send(self, topic: str, items: Sequence[tuple[str, FhirJson]]) -> list[Sent]:
        """Send all, then wait for the broker; each ``sent_at`` is taken just before its own send."""
        encoded = [(key, message, json.dumps(message, separators=(",", ":")).encode()) for key, message in items]
        pending = []
        for key, message, payload in encoded:
            header = message["entry"][0]["resource"]
            headers = [("message-id", header["id"].encode()), ("event-code", header["eventCoding"]["code"].encode()),
                       ("content-type", b"application/fhir+json")]
            sent_at = time.time()
            future = self._producer.send(topic, value=payload, key=key.encode(), headers=headers)
            pending.append((key, header, len(payload), sent_at, future))
        self._producer.flush(timeout=60)
        sent = []
        for key, header, size, sent_at, future in pending:
            metadata = future.get(timeout=30)
            sent.append(Sent(key, header["id"], header["eventCoding"]["code"], metadata.partition, metadata.offset,
                             sent_at, size))
        return sent


@dataclass
class Committed:
    """The path ends when a service's consumer committed the record (``message processed``, outcome done)."""

    log: ProcessedLog
    topic: str
    name: str = "committed"

    def refresh(self) -> None:
        self.log.refresh()

    def done_at(self, sent: Sent) -> float | None:
        entry = self.log.done.get((self.topic, sent.partition, sent.offset))
        return entry[0] if entry and entry[1] in ("done", "duplicate") else None

    def failure(self, sent: Sent) -> str | None:
        entry = self.log.done.get((self.topic, sent.partition, sent.offset))
        return f"{sent.event_code}: {entry[1]}" if entry and entry[1] not in ("done", "duplicate") else None


@dataclass
class Answered:
    """The path ends when a record with the message's key and ``event_code`` arrived on the watched topic with
    response code ok (e.g. the EHR's answer to the ``order-signed`` the CPOE order caused). One message per key:
    the bench gives each message its own patient."""

    watcher: TopicWatcher
    event_code: str
    name: str
    _by_key: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    def refresh(self) -> None:
        for record in self.watcher.seen(lambda r: r.event_code == self.event_code and r.response_code is not None):
            self._by_key.setdefault(record.key, (record.received_at, record.response_code))

    def done_at(self, sent: Sent) -> float | None:
        found = self._by_key.get(sent.key)
        return found[0] if found and found[1] == "ok" else None

    def failure(self, sent: Sent) -> str | None:
        found = self._by_key.get(sent.key)
        return f"{self.event_code}: {found[1]}" if found and found[1] != "ok" else None


@dataclass(frozen=True)
class PathResult:
    throughput: dict[str, Throughput]  # end name → rate
    latency: dict[str, Latency]  # end name → one-at-a-time latency
    message_bytes: float  # mean size of the inbound records
    cpu_ms_per_message: dict[str, float]  # process → CPU ms it used per message in the throughput run


def run_path(publisher: Publisher, topic: str, burst: Sequence[tuple[str, FhirJson]],
             one_by_one: Sequence[tuple[str, FhirJson]], ends: Sequence[PathEnd], timeout_s: float,
             cpu_of: dict[str, int] | None = None) -> PathResult:
    with CpuMeter(cpu_of or {}) as cpu:
        throughput, sizes = measure_burst(publisher, topic, burst, ends, timeout_s)
    latency = measure_one_by_one(publisher, topic, one_by_one, ends, timeout_s)
    return PathResult(throughput, latency, sum(sizes) / len(sizes), cpu.ms_per(len(burst)))


def measure_burst(publisher: Publisher, topic: str, items: Sequence[tuple[str, FhirJson]],
                  ends: Sequence[PathEnd], timeout_s: float) -> tuple[dict[str, Throughput], list[int]]:
    sent = publisher.send(topic, items)
    _wait_all(sent, ends, timeout_s)
    first = min(s.sent_at for s in sent)
    return ({end.name: Throughput.between(first, [end.done_at(s) or 0.0 for s in sent]) for end in ends},
            [s.size for s in sent])


def measure_one_by_one(publisher: Publisher, topic: str, items: Sequence[tuple[str, FhirJson]],
                       ends: Sequence[PathEnd], timeout_s: float) -> dict[str, Latency]:
    seconds: dict[str, list[float]] = {end.name: [] for end in ends}
    for item in items:
        [sent] = publisher.send(topic, [item])
        _wait_all([sent], ends, min(timeout_s, 30.0))
        for end in ends:
            seconds[end.name].append((end.done_at(sent) or 0.0) - sent.sent_at)
    return {name: Latency.of_seconds(values) for name, values in seconds.items()}


def _wait_all(sent: Sequence[Sent], ends: Sequence[PathEnd], timeout_s: float) -> None:
    def all_done() -> bool:
        for end in ends:
            end.refresh()
        failures = [f for end in ends for s in sent if (f := end.failure(s))]
        if failures:
            raise BenchError(f"{len(failures)} of {len(sent)} messages failed, e.g. {failures[0]}")
        return all(end.done_at(s) is not None for end in ends for s in sent)

    if not wait_until(all_done, timeout_s, interval_s=0.005 if len(sent) == 1 else 0.05):
        missing = {end.name: sum(end.done_at(s) is None for s in sent) for end in ends}
        raise BenchError(f"not done after {timeout_s:.0f} s: {missing} of {len(sent)} messages")
