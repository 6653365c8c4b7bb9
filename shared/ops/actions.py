"""The operations on one service's failures, shared by the CLI and the operations page: list and show dead letters,
replay them into their source topic, discard them, and read the outbox backlog. Every change is audited.

A replayed record goes back to its source topic with its original key (so the same partition, behind the same
patient's earlier records) and headers, the ``dlq-*`` ones dropped and ``ketalink-replayed-from`` added. The
consumers record every message id they apply in the same transaction as its effects (``processed_messages``), so a
record replayed twice, or replayed after all, is applied once."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafka import KafkaProducer
from sqlalchemy.engine import Engine

from shared.db import utcnow
from shared.events.kafka_clients import KafkaSettings, create_producer
from shared.events.outbox import OutboxBacklog, outbox_backlog
from shared.ops import audit
from shared.ops.dead_letters import DEFAULT_SCAN, DeadLetter, DeadLetterReader, DeadLetterRef, \
    service_dead_letter_topics

REPLAYED_FROM = "ketalink-replayed-from"
SEND_TIMEOUT_S = 30
WHOLE_TOPIC = 10**12  # a scan or limit that takes everything a dead-letter topic keeps (30 days)


@dataclass(frozen=True)
class ListedDeadLetter:
    letter: DeadLetter
    settled: str  # "" while waiting; audit.REPLAY or audit.DISCARD once dealt with


@dataclass(frozen=True)
class Replayed:
    ref: DeadLetterRef
    to_topic: str
    applied: bool  # False for a dry run


class OpsService:
    """One service's operations: ``service`` names it (``intake``, ``orders``, ``documentation``), ``consumer_name``
    is its consumer's name, the ``dlq-consumer`` header of what it dead-letters (``ketalink-<service>`` unless
    ``CONSUMER_GROUP`` says otherwise)."""

    def __init__(self, service: str, engine: Engine, kafka: KafkaSettings, consumer_name: str | None = None,
                 producer_factory: Callable[[], KafkaProducer] | None = None):
        self.service = service
        self.engine = engine
        self.topics = service_dead_letter_topics(service)
        self.consumer_name = consumer_name or f"ketalink-{service}"
        self.reader = DeadLetterReader(kafka, self.topics, self.consumer_name)
        self._producer_factory = producer_factory or (lambda: create_producer(kafka, f"ketalink-ops-{service}"))

    # -- dead letters --------------------------------------------------------------------------------------------
    def dead_letters(self, *, include_settled: bool = False, limit: int = 100,
                     scan: int = DEFAULT_SCAN) -> list[ListedDeadLetter]:
        """Waiting dead letters, oldest first (replayed or discarded ones too with ``include_settled``)."""
        letters = self.reader.list(scan)
        with self.engine.connect() as conn:
            settled = audit.settled_targets(conn, self.service)
        listed = [ListedDeadLetter(d, settled.get(str(d.ref), "")) for d in letters]
        return [item for item in listed if include_settled or not item.settled][:max(limit, 0)]

    def dead_letter(self, ref: DeadLetterRef) -> ListedDeadLetter:
        letter = self.reader.get(ref)
        with self.engine.connect() as conn:
            return ListedDeadLetter(letter, audit.settled_targets(conn, self.service).get(str(ref), ""))

    def replay(self, refs: Iterable[DeadLetterRef] | None, reason: str, actor: str, *,
               apply: bool) -> list[Replayed]:
        """Replay the named dead letters (``refs``), or every waiting one (``None``), into their source topics.
        A dry run (``apply`` false) only says what would go where and changes nothing."""
        reason = audit.checked_reason(reason)
        if refs is None:  # every waiting one on the topics, not only the window a list shows
            letters = [item.letter for item in self.dead_letters(limit=WHOLE_TOPIC, scan=WHOLE_TOPIC)]
        else:
            letters = [self.reader.get(ref) for ref in refs]
        if not apply:
            return [Replayed(d.ref, d.ref.source_topic, False) for d in letters]
        done: list[Replayed] = []
        producer = self._producer_factory() if letters else None
        try:
            for letter in letters:
                self._replay_one(producer, letter, reason, actor)
                done.append(Replayed(letter.ref, letter.ref.source_topic, True))
        finally:
            if producer is not None:
                producer.close()
        return done

    def _replay_one(self, producer: KafkaProducer | None, letter: DeadLetter, reason: str, actor: str) -> None:
        assert producer is not None
        headers = [(name, value) for name, value in letter.headers
                   if not name.startswith("dlq-") and name != REPLAYED_FROM]
        headers.append((REPLAYED_FROM, str(letter.ref).encode()))
        key = letter.key.encode() if letter.key is not None else None
        try:
            producer.send(letter.ref.source_topic, key=key, value=letter.value, headers=headers).get(
                timeout=SEND_TIMEOUT_S)
        except Exception:
            self._audit(audit.REPLAY, str(letter.ref), actor, reason, audit.FAILED)
            raise
        self._audit(audit.REPLAY, str(letter.ref), actor, reason, audit.DONE)

    def discard(self, ref: DeadLetterRef, reason: str, actor: str) -> DeadLetter:
        """Set a dead letter aside for good: Kafka cannot delete one record, so the discard is the audit entry, and
        the list hides it from then on."""
        reason = audit.checked_reason(reason)
        letter = self.reader.get(ref)
        self._audit(audit.DISCARD, str(ref), actor, reason, audit.DONE)
        return letter

    # -- outbox and audit ----------------------------------------------------------------------------------------
    def outbox(self) -> OutboxBacklog:
        with self.engine.connect() as conn:
            return outbox_backlog(conn)

    def recent_actions(self, limit: int = 50) -> list[audit.OpsAction]:
        with self.engine.connect() as conn:
            return audit.recent(conn, self.service, limit)

    def _audit(self, action: str, target: str, actor: str, reason: str, outcome: str) -> None:
        with self.engine.begin() as conn:
            audit.record(conn, self.service, action, target, actor, reason, outcome)


def now_age_s(backlog: OutboxBacklog) -> float:
    return backlog.oldest_age_s(utcnow())
