"""Whether a worker's Kafka clients are doing their work, not merely whether their threads are alive.

kafka-python never raises on a broker it cannot reach: ``poll()`` just returns nothing, for ever, when the
credentials are wrong, the CA does not match, an ACL is missing on the group or the group join stalls. So the
consumer loop records what only a working consumer can do: a poll that returned while the consumer was a stable
member of its group with a known coordinator (it joined and can fetch), and each offset commit the broker took.
The outbox relay records each pass that reached the broker, or found nothing to send.

A component is *stalled* when it has shown no such success for longer than ``stall_after_s`` (the longest
interval between successful polls that a working consumer shows; see ``WorkerHealthSettings``). The worker's
``/readyz`` answers 503 while any component is stalled and 200 again as soon as it recovers. Readiness is kept per
process (``WORKER_HEALTH``) because the probe server (``deploy/docker/ketalink_worker.py``) runs the worker module
in the same process and has no other handle on its clients.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import TopicPartition

from shared.metrics import CONSUMER_LAG, CONSUMER_LAST_COMMIT, CONSUMER_LAST_POLL, CONSUMER_PARTITIONS

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class WorkerHealthSettings:
    """Environment (prefix ``KETALINK_WORKER_``): ``STALL_AFTER_S``.

    ``stall_after_s`` (default 60): the poll interval a working consumer keeps. The loop polls every half second
    while idle and after every batch (at most 50 records, each committed as it finishes); the only time it neither
    polls nor commits is while one record is processed, which the EHR client bounds (10 s timeout, 3 retries: about
    45 s when the EHR hangs). 60 s is past that and well inside Kafka's ``max.poll.interval`` (300 s), after which the
    group would drop the member anyway. Lower it only with a shorter EHR timeout."""

    stall_after_s: float = 60.0

    def validate(self) -> None:
        if not 1.0 <= self.stall_after_s <= 3600.0:
            raise ValueError("stall_after_s must be 1-3600 seconds")


class ConsumerHealth:
    """What one consumer loop last achieved; its loop calls ``polled``, ``committed`` and ``failed``."""

    def __init__(self, name: str, clock: Clock = time.monotonic, wall_clock: Clock = time.time):
        self.name = name
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._started_at = clock()
        self._last_success: float | None = None
        self._last_error: str | None = None
        self._state = "starting"
        self._committed: dict[TopicPartition, int] = {}
        self._lagging: set[TopicPartition] = set()

    def polled(self, consumer: Any) -> None:
        """After each ``poll()`` returned: a success only if the consumer is a stable group member with a live
        coordinator; then the lag of each assigned partition (highwater - committed) is exported."""
        joined = _joined(consumer)
        with self._lock:
            self._state = "joined" if joined else "joining"
            if not joined:
                return
            self._last_success = self._clock()
            self._last_error = None
        CONSUMER_LAST_POLL.labels(self.name).set(self._wall_clock())
        self._export_lag(consumer)

    def committed(self, partition: TopicPartition, offset: int) -> None:
        """The broker took ``offset`` (the next record to read) as the group's position on ``partition``."""
        with self._lock:
            self._committed[partition] = offset
            self._last_success = self._clock()
        CONSUMER_LAST_COMMIT.labels(self.name).set(self._wall_clock())

    def failed(self, error: BaseException) -> None:
        """The loop lost its clients (it rebuilds them): the lag it showed is no longer known."""
        with self._lock:
            self._state = "reconnecting"
            self._last_error = type(error).__name__  # the type only: messages may carry record content
            self._committed.clear()
        self._forget_lag(set())

    def problem(self, stall_after_s: float) -> str | None:
        """Not ready until it first joined its group (a new pod proves itself first); after that, not ready once
        it has shown no work for longer than ``stall_after_s``."""
        with self._lock:
            cause = f" (last error {self._last_error})" if self._last_error else ""
            if self._last_success is None:
                waited_s = self._clock() - self._started_at
                return f"consumer {self.name} {self._state}: not joined its group yet ({waited_s:.0f} s){cause}"
            silent_s = self._clock() - self._last_success
            if silent_s <= stall_after_s:
                return None
            return f"consumer {self.name} {self._state}: joined, fetched or committed not for {silent_s:.0f} s{cause}"

    def _export_lag(self, consumer: Any) -> None:
        assigned = set(consumer.assignment())
        for partition in assigned:
            highwater = consumer.highwater(partition)  # known after the first fetch from the partition
            committed = None if highwater is None else self._committed_offset(consumer, partition)
            if highwater is None or committed is None:
                continue
            CONSUMER_LAG.labels(self.name, partition.topic, str(partition.partition)).set(max(0, highwater - committed))
            self._lagging.add(partition)
        CONSUMER_PARTITIONS.labels(self.name).set(len(assigned))
        self._forget_lag(assigned)

    def _committed_offset(self, consumer: Any, partition: TopicPartition) -> int | None:
        """The offset this loop last committed, else the group's (asked once per assignment), else the start of
        the partition (nothing committed yet: everything retained is still to read)."""
        with self._lock:
            known = self._committed.get(partition)
        if known is not None:
            return known
        try:
            known = consumer.committed(partition, timeout_ms=5000)
            if known is None:
                known = consumer.beginning_offsets([partition], timeout_ms=5000)[partition]
        except Exception as error:  # noqa: BLE001 - no lag this time; asked again after the next poll
            log.debug("committed offset unknown", extra={"error": type(error).__name__})
            return None
        with self._lock:
            self._committed.setdefault(partition, known)
            return self._committed[partition]

    def _forget_lag(self, keep: set[TopicPartition]) -> None:
        for partition in self._lagging - keep:
            try:
                CONSUMER_LAG.remove(self.name, partition.topic, str(partition.partition))
            except KeyError:
                pass
            with self._lock:
                self._committed.pop(partition, None)
        self._lagging &= keep


class RelayHealth:
    """The outbox relay's passes: stalled while they keep failing (a backlog it cannot send) for longer than the
    threshold, counted from its last good pass (a failing pass may itself wait out a connection timeout)."""

    def __init__(self, name: str, clock: Clock = time.monotonic):
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._last_success = clock()
        self._failing_since: float | None = None
        self._last_error: str | None = None

    def succeeded(self) -> None:
        """A pass sent what was pending, or found nothing to send."""
        with self._lock:
            self._last_success = self._clock()
            self._failing_since = None
            self._last_error = None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = self._last_success
            self._last_error = type(error).__name__

    def problem(self, stall_after_s: float) -> str | None:
        with self._lock:
            if self._failing_since is None:
                return None
            failing_s = self._clock() - self._failing_since
            if failing_s <= stall_after_s:
                return None
            return f"{self.name}: cannot send its backlog to the broker for {failing_s:.0f} s " \
                   f"(last error {self._last_error})"


Component = ConsumerHealth | RelayHealth


class WorkerHealth:
    """Every started consumer loop and relay of this process; the probe asks it for problems."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._components: list[Component] = []
        self.settings = WorkerHealthSettings()

    def configure(self, settings: WorkerHealthSettings) -> None:
        self.settings = settings

    def track(self, component: Component) -> Component:
        with self._lock:
            self._components.append(component)
        return component

    def untrack(self, component: Component) -> None:
        with self._lock:
            if component in self._components:
                self._components.remove(component)

    def components(self) -> list[Component]:
        with self._lock:
            return list(self._components)

    def problems(self) -> list[str]:
        found = (component.problem(self.settings.stall_after_s) for component in self.components())
        return [problem for problem in found if problem]


WORKER_HEALTH = WorkerHealth()


def _joined(consumer: Any) -> bool:
    """A stable member of its group whose coordinator connection is up. kafka-python 3.0.x offers no public way
    to ask (``close_consumer`` in ``kafka_clients.py`` reads the same member state)."""
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is None:
        return False
    return bool(coordinator.stable() and not coordinator.coordinator_unknown())
