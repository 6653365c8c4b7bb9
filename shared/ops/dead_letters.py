"""Reading a service's dead letters from Kafka: the records its consumer gave up on, with the headers the consumer
wrote (``shared/events/consumer.py``, ``_dead_letter``).

A reader takes no consumer group and commits nothing: it assigns the partitions, reads a bounded window at the end
of each and leaves. Several services read the same source topic (``ehr.events``) and so write to the same
dead-letter topic; a service's dead letters are those its own consumer (``dlq-consumer``) wrote."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS, DEAD_LETTER_SUFFIX, dead_letter_topic
from shared.json_bounds import too_deep
from shared.ops.audit import OpsUsageError

DEFAULT_SCAN = 1000  # records read from the end of each dead-letter partition for a list
READ_DEADLINE_S = 30.0


@dataclass(frozen=True, order=True)
class DeadLetterRef:
    """``<dead-letter topic>:<partition>:<offset>``: where one dead letter is, the name every action takes."""

    topic: str
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> "DeadLetterRef":
        topic, _, rest = (text or "").strip().partition(":")
        partition, _, offset = rest.partition(":")
        if not topic.endswith(DEAD_LETTER_SUFFIX) or not partition.isdigit() or not offset.isdigit():
            raise OpsUsageError(f"{text!r} is not a dead letter's ref: "
                                f"<topic>{DEAD_LETTER_SUFFIX}:<partition>:<offset>")
        return cls(topic, int(partition), int(offset))

    @property
    def source_topic(self) -> str:
        return self.topic.removesuffix(DEAD_LETTER_SUFFIX)

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter's facts, ids only. ``value`` and ``headers`` are kept for a replay and never shown."""

    ref: DeadLetterRef
    reason: str
    consumer: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    event_code: str
    message_id: str
    dead_lettered_at: datetime | None
    key: str | None
    replayed_from: str = ""  # set when this dead letter is itself a replayed record that failed again
    value: bytes | None = field(default=None, repr=False, compare=False)
    headers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False, compare=False)


def service_dead_letter_topics(service: str) -> tuple[str, ...]:
    try:
        return tuple(dead_letter_topic(topic) for topic in ACCESS[service].reads)
    except KeyError:
        raise OpsUsageError(f"unknown service {service!r}: one of {', '.join(sorted(ACCESS))}") from None


class DeadLetterReader:
    """The dead letters ``consumer_name`` (the service's consumer group name) wrote to ``topics``."""

    def __init__(self, kafka: KafkaSettings, topics: tuple[str, ...], consumer_name: str):
        self._kafka = kafka
        self._topics = topics
        self._consumer_name = consumer_name

    def list(self, scan: int = DEFAULT_SCAN) -> list[DeadLetter]:
        """The last ``scan`` records of each partition of each topic that are this consumer's, oldest first."""
        client = self._client()
        try:
            partitions = [TopicPartition(t, p) for t in self._topics for p in sorted(client.partitions_for_topic(t)
                                                                                     or ())]
            if not partitions:
                return []
            client.assign(partitions)
            begin, end = client.beginning_offsets(partitions), client.end_offsets(partitions)
            for tp in partitions:
                client.seek(tp, max(begin[tp], end[tp] - scan))
            found = [self._parse(r) for r in _read_until(client, partitions, end)]
        finally:
            client.close()
        return sorted((d for d in found if self._ours(d)), key=lambda d: (d.dead_lettered_at or _EPOCH, d.ref))

    def get(self, ref: DeadLetterRef) -> DeadLetter:
        """One dead letter of this consumer by its ref; OpsUsageError when there is none such."""
        if ref.topic not in self._topics:
            raise OpsUsageError(f"{ref.topic} is not one of this service's dead-letter topics "
                                f"({', '.join(self._topics)})")
        client = self._client()
        try:
            tp = TopicPartition(ref.topic, ref.partition)
            if ref.partition not in (client.partitions_for_topic(ref.topic) or ()):
                raise OpsUsageError(f"{ref}: no such partition")
            client.assign([tp])
            begin, end = client.beginning_offsets([tp])[tp], client.end_offsets([tp])[tp]
            if not begin <= ref.offset < end:
                raise OpsUsageError(f"{ref}: no such record (offsets {begin}-{end - 1} are kept)")
            client.seek(tp, ref.offset)
            records = _read_until(client, [tp], {tp: ref.offset + 1})
        finally:
            client.close()
        found = next((self._parse(r) for r in records if r.offset == ref.offset), None)
        if found is None or not self._ours(found):
            raise OpsUsageError(f"{ref}: not a dead letter of this service's consumer")
        return found

    def _ours(self, letter: DeadLetter) -> bool:
        return letter.consumer == self._consumer_name

    def _client(self) -> KafkaConsumer:
        return KafkaConsumer(**self._kafka.connection(), group_id=None, enable_auto_commit=False,
                             client_id=f"ketalink-ops-{uuid.uuid4().hex[:6]}",
                             request_timeout_ms=self._kafka.request_timeout_ms, max_poll_records=500)

    @staticmethod
    def _parse(record: Any) -> DeadLetter:
        headers = tuple((name, value or b"") for name, value in record.headers or ())
        named = {name: value.decode("utf-8", errors="replace") for name, value in headers}
        message_id, event_code = message_facts(record.value)
        when = datetime.fromtimestamp(record.timestamp / 1000, timezone.utc) if (record.timestamp or 0) > 0 else None
        return DeadLetter(
            ref=DeadLetterRef(record.topic, record.partition, record.offset),
            reason=named.get("dlq-reason", "")[:500], consumer=named.get("dlq-consumer", ""),
            source_topic=named.get("dlq-source-topic") or record.topic.removesuffix(DEAD_LETTER_SUFFIX),
            source_partition=_int(named.get("dlq-source-partition")),
            source_offset=_int(named.get("dlq-source-offset")),
            event_code=event_code, message_id=message_id, dead_lettered_at=when,
            key=record.key.decode("utf-8", errors="replace") if record.key is not None else None,
            replayed_from=named.get("ketalink-replayed-from", ""), value=record.value, headers=headers)


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


def message_facts(value: bytes | None) -> tuple[str, str]:
    """The FHIR message id and event code of a record, read from its MessageHeader; empty when it has none (a record
    that is not a FHIR message is often why it was dead-lettered)."""
    if not value or too_deep(value):
        return "", ""
    try:
        bundle = json.loads(value)
        header = bundle["entry"][0]["resource"]
        if header.get("resourceType") != "MessageHeader":
            return "", ""
        return str(header.get("id") or "")[:64], str((header.get("eventCoding") or {}).get("code") or "")[:100]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return "", ""


def _read_until(client: KafkaConsumer, partitions: list[TopicPartition], end: dict[TopicPartition, int]) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + READ_DEADLINE_S
    while any(client.position(tp) < end[tp] for tp in partitions):
        if time.monotonic() > deadline:
            raise TimeoutError("the dead-letter topics could not be read in time (broker unreachable?)")
        for batch in client.poll(timeout_ms=500).values():
            records.extend(r for r in batch if r.offset < end[TopicPartition(r.topic, r.partition)])
    return records


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
