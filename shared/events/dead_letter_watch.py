"""How many of a service's dead letters wait for someone (neither replayed nor discarded), as the gauge
``ketalink_dead_letters_waiting{topic}``: the "dead-letter topic not empty" alert. A counter of records dead-lettered
says something happened; only this says whether it was dealt with, since the topic keeps every record for its
retention whatever ops did (the ops CLI and page audit what they did: ``shared/ops``).

Reading a dead-letter topic takes a Kafka client and a scan of its end, so it runs in a thread every
``KETALINK_WORKER_DEAD_LETTER_CHECK_S`` seconds (default 300; 0 turns it off), never at scrape time. Every worker
replica of a service counts the same records: the alert combines them with ``max``.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from shared.events.kafka_clients import KafkaSettings
from shared.metrics import DEAD_LETTERS_WAITING

log = logging.getLogger(__name__)

FIRST_CHECK_MAX_S = 30.0  # soon after the start, not at once: the start itself is busy with the broker


@dataclass(frozen=True)
class DeadLetterWatchSettings:
    """Environment (prefix ``KETALINK_WORKER_``): ``DEAD_LETTER_CHECK_S``."""

    dead_letter_check_s: float = 300.0

    def validate(self) -> None:
        if self.dead_letter_check_s != 0 and not 10 <= self.dead_letter_check_s <= 86400:
            raise ValueError("dead_letter_check_s must be 0 (off) or 10-86400 seconds")


class DeadLetterWatch:
    """Counts the service's waiting dead letters by dead-letter topic, now and then, into the gauge."""

    def __init__(self, service: str, engine: Engine, kafka: KafkaSettings, consumer_name: str, interval_s: float):
        self._service = service
        self._engine = engine
        self._kafka = kafka
        self._consumer_name = consumer_name
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._interval_s <= 0:
            return
        self._thread = threading.Thread(target=self._run, name=f"{self._service}-dead-letter-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> dict[str, int]:
        """Waiting dead letters by dead-letter topic (every topic of the service, 0 included), set on the gauge."""
        from shared.ops.actions import WHOLE_TOPIC, OpsService  # the ops package reads and audits dead letters

        ops = OpsService(self._service, self._engine, self._kafka, self._consumer_name)
        waiting = Counter(item.letter.ref.topic for item in ops.dead_letters(limit=WHOLE_TOPIC))
        counts = {topic: waiting.get(topic, 0) for topic in ops.topics}
        for topic, count in counts.items():
            DEAD_LETTERS_WAITING.labels(topic).set(count)
        return counts

    def _run(self) -> None:
        wait_s = min(self._interval_s, FIRST_CHECK_MAX_S)
        while not self._stop.wait(wait_s):
            try:
                self.check()
            except Exception as error:  # noqa: BLE001 - the gauge keeps its last value; the next check may pass
                log.warning("dead letters could not be counted", extra={"error": type(error).__name__})
            wait_s = self._interval_s
