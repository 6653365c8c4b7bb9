"""How the bench learns that a message is done, without slowing the path it measures.

- ``ProcessedLog`` reads a service's own log: the consumer loop writes ``message processed`` (topic, partition,
  offset, outcome) right after it committed the offset, with a millisecond timestamp. That is the moment the
  service is finished with the record (translated, checked, stored, its answer in the outbox, offset committed).
- ``TopicWatcher`` reads a topic the services or the EHR write (e.g. ``ehr.responses``) in a background thread and
  notes when each record arrived, so the end of a path can be "the EHR answered ok".

Both use wall-clock time (``time.time()``) like the publisher, since the service's log is another process."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

RecordKey = tuple[str, int, int]  # topic, partition, offset


class ProcessedLog:
    """``message processed`` lines of one or more service logs, from the moment this object was made."""

    def __init__(self, paths: list[Path]):
        self._positions = {path: (path.stat().st_size if path.exists() else 0) for path in paths}
        self._partial = {path: b"" for path in paths}
        self.done: dict[RecordKey, tuple[float, str]] = {}  # → (epoch seconds, outcome)

    def refresh(self) -> None:
        for path, position in self._positions.items():
            if not path.exists():
                continue
            with open(path, "rb") as log:
                log.seek(position)
                chunk = self._partial[path] + log.read()
                self._positions[path] = log.tell()
            lines = chunk.split(b"\n")
            self._partial[path] = lines.pop()  # an incomplete last line waits for the next refresh
            for line in lines:
                if b'"message processed"' in line:
                    self._note(line)

    def _note(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
            at = datetime.strptime(entry["asctime"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            self.done[(entry["topic"], int(entry["partition"]), int(entry["offset"]))] = (at, entry["outcome"])
        except (ValueError, KeyError):
            return


@dataclass(frozen=True)
class SeenRecord:
    key: str
    event_code: str
    response_code: str | None  # MessageHeader.response.code for a response message
    response_to: str | None
    received_at: float


class TopicWatcher:
    """Every record that arrives on ``topics`` after ``start()``, with its arrival time, in a background thread."""

    def __init__(self, bootstrap: str, topics: list[str]):
        self._bootstrap = bootstrap
        self._topics = topics
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._seen: list[SeenRecord] = []
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> "TopicWatcher":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"watcher of {self._topics} not ready: {self._error!r}")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def seen(self, predicate: Callable[[SeenRecord], bool] = lambda _r: True) -> list[SeenRecord]:
        with self._lock:
            return [r for r in self._seen if predicate(r)]

    def _run(self) -> None:
        try:
            consumer = KafkaConsumer(bootstrap_servers=[self._bootstrap], group_id=None, enable_auto_commit=False,
                                     fetch_max_wait_ms=20, client_id="bench-watcher")
            partitions = [TopicPartition(t, p) for t in self._topics for p in consumer.partitions_for_topic(t) or ()]
            consumer.assign(partitions)
            consumer.seek_to_end(*partitions)
            for partition in partitions:
                consumer.position(partition)  # resolve the end now, before anything is published
        except BaseException as error:  # noqa: BLE001 - reported by __enter__
            self._error = error
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                for batch in consumer.poll(timeout_ms=100).values():
                    arrived = time.time()
                    records = [_seen(record, arrived) for record in batch]
                    with self._lock:
                        self._seen.extend(records)
        finally:
            consumer.close()


def _seen(record: object, arrived: float) -> SeenRecord:
    headers = dict(getattr(record, "headers", None) or [])
    response_code = response_to = None
    try:
        header = json.loads(getattr(record, "value"))["entry"][0]["resource"]
        response = header.get("response")
        if response:
            response_code, response_to = response.get("code"), response.get("identifier")
    except (ValueError, KeyError, IndexError, TypeError):
        pass
    key = getattr(record, "key", None)
    return SeenRecord(key.decode() if key else "", headers.get("event-code", b"").decode(), response_code,
                      response_to, arrived)


def wait_until(done: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> bool:
    """Poll ``done`` until true or the timeout; returns whether it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(interval_s)
    return done()
