"""Replay a dead-letter topic into the topic its records came from: ``python -m ketalink_replay TOPIC.dlq --apply``.

Each record goes back with its key, value and original headers (the ``dlq-*`` ones dropped), so the consumer sees
the message it failed on; the services deduplicate on the FHIR message id, so a record replayed twice is applied
once. Progress is committed for the consumer group ``ketalink-dlq-replay``: a second run replays only what was
dead-lettered since. Without ``--apply`` (or with ``--dry-run``) it only lists the records and their
``dlq-reason`` and changes nothing.

Runs in any service image (it has kafka-python) with the KafkaUser ``ketalink-dlq-replay``; connection settings are
the services' own variables: KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE, KAFKA_REQUEST_TIMEOUT_MS.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

DEAD_LETTER_SUFFIX = ".dlq"  # shared.events.topics.DEAD_LETTER_SUFFIX (this file also runs without the repo)
GROUP = "ketalink-dlq-replay"


def connection_settings(environ: dict[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092").split(",")
                              if s.strip()],
        "request_timeout_ms": int(environ.get("KAFKA_REQUEST_TIMEOUT_MS") or 15000),
        "client_id": GROUP,
    }
    protocol = environ.get("KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    settings["security_protocol"] = protocol
    if protocol.startswith("SASL"):
        settings.update(sasl_mechanism=environ.get("KAFKA_SASL_MECHANISM") or "SCRAM-SHA-512",
                        sasl_plain_username=environ.get("KAFKA_SASL_USERNAME"),
                        sasl_plain_password=environ.get("KAFKA_SASL_PASSWORD"))
    if protocol.endswith("SSL") and environ.get("KAFKA_SSL_CAFILE"):
        settings["ssl_cafile"] = environ["KAFKA_SSL_CAFILE"]
    return settings


def header(record: Any, name: str) -> str:
    for key, value in record.headers or []:
        if key == name:
            return value.decode(errors="replace")
    return ""


def replay(dead_letter_topic: str, *, dry_run: bool, environ: dict[str, str]) -> int:
    """Replay what is on the topic now (up to its current end); returns the number of records replayed or listed."""
    if not dead_letter_topic.endswith(DEAD_LETTER_SUFFIX):
        raise SystemExit(f"{dead_letter_topic}: not a dead-letter topic (*{DEAD_LETTER_SUFFIX})")
    source_topic = dead_letter_topic.removesuffix(DEAD_LETTER_SUFFIX)
    settings = connection_settings(environ)
    consumer = KafkaConsumer(group_id=GROUP, enable_auto_commit=False, **settings)
    producer = None if dry_run else KafkaProducer(acks="all", enable_idempotence=True, **settings)
    count = 0
    sent = []
    try:
        partitions = [TopicPartition(dead_letter_topic, p)
                      for p in sorted(consumer.partitions_for_topic(dead_letter_topic) or [])]
        if not partitions:
            raise SystemExit(f"{dead_letter_topic}: no such topic (or no Describe permission)")
        consumer.assign(partitions)
        end = consumer.end_offsets(partitions)
        for partition in partitions:
            committed = consumer.committed(partition)
            if committed is None:
                consumer.seek_to_beginning(partition)
            else:
                consumer.seek(partition, committed)
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for partition, records in consumer.poll(timeout_ms=1000).items():
                for record in records:
                    if record.offset >= end[partition]:
                        continue  # dead-lettered while we run: left for the next run
                    count += 1
                    print(f"{partition.topic}[{partition.partition}]@{record.offset} "
                          f"reason: {header(record, 'dlq-reason')}", flush=True)
                    if producer is not None:
                        headers = [(k, v) for k, v in record.headers or [] if not k.startswith("dlq-")]
                        sent.append(producer.send(source_topic, key=record.key, value=record.value,
                                                  headers=headers))
        if producer is not None:
            producer.flush()
            for future in sent:
                future.get(timeout=30)  # raises if the broker refused one: nothing is committed then
            consumer.commit({tp: OffsetAndMetadata(end[tp], "", -1) for tp in partitions})
    finally:
        consumer.close()
        if producer is not None:
            producer.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ketalink_replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topic", help="the dead-letter topic, e.g. ketalink.intake.events.dlq")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="list the records and reasons (the default)")
    mode.add_argument("--apply", action="store_true", help="replay them and commit the progress")
    args = parser.parse_args()
    dry_run = not args.apply
    count = replay(args.topic, dry_run=dry_run, environ=dict(os.environ))
    verb = "would replay" if dry_run else "replayed"
    print(f"{verb} {count} record(s) from {args.topic} to {args.topic.removesuffix(DEAD_LETTER_SUFFIX)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
