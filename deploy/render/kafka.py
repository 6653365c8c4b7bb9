"""Strimzi KafkaTopic and KafkaUser objects, derived from ``shared.events.topics`` so they cannot drift from the code.

Every topic of ``all_topics()`` (dead-letter topics included) gets a KafkaTopic; every client in ``ACCESS`` gets a
KafkaUser (SCRAM-SHA-512) whose ACLs grant exactly what it reads (Read) and writes (Write, its dead-letter topics
included), Describe on those topics (metadata), and Read on its own consumer group. One more user, for operators,
may move records from a dead-letter topic back to its source topic (deploy/README.md, "Replay the dead-letter
topic"). Where the site lets the /ops page act on dead letters, each service's web pods get a user of their own that
may do the same for that service only (``ops_kafka_users``). The base holds production values (3 replicas, min.insync.replicas=2); the dev overlay lowers them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from deploy.render import layout
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS, DEAD_LETTER_SUFFIX, all_topics, dead_letter_topic

Obj = dict[str, Any]

REPLICAS = 3
MIN_IN_SYNC_REPLICAS = 2  # with acks=all, a write survives the loss of one broker and waits out a second
EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000  # a week to recover from a consumer outage
DEAD_LETTER_RETENTION_MS = 30 * 24 * 3600 * 1000  # a month to investigate and replay

READ, WRITE, DESCRIBE = "Read", "Write", "Describe"
# Strimzi removed v1beta2 in 1.0.0, which serves v1 only. deploy/README.md states the supported range.
STRIMZI_API_VERSION = "kafka.strimzi.io/v1"


def is_dead_letter(topic: str) -> bool:
    return topic.endswith(DEAD_LETTER_SUFFIX)


def resource_name(topic: str) -> str:
    """A Kubernetes name for a topic (dots are allowed, underscores are not); spec.topicName keeps the exact one."""
    return topic.replace("_", "-").lower()


def kafka_topic(topic: str) -> Obj:
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaTopic",
        "metadata": {"name": resource_name(topic),
                     "labels": {"strimzi.io/cluster": layout.KAFKA_CLUSTER,
                                "app.kubernetes.io/part-of": layout.PART_OF}},
        "spec": {
            "topicName": topic,
            "partitions": KafkaSettings().topic_partitions,  # the same count the services create locally
            "replicas": REPLICAS,
            "config": {
                "min.insync.replicas": MIN_IN_SYNC_REPLICAS,
                "retention.ms": DEAD_LETTER_RETENTION_MS if is_dead_letter(topic) else EVENT_RETENTION_MS,
                "cleanup.policy": "delete",
            },
        },
    }


def topic_grants(client: str) -> dict[str, set[str]]:
    """topic → ACL operations for one client of ACCESS."""
    access = ACCESS[client]
    grants: dict[str, set[str]] = defaultdict(set)
    for topic in access.reads:
        grants[topic] |= {READ, DESCRIBE}
    for topic in (*access.writes, *access.dead_letter_writes):
        grants[topic] |= {WRITE, DESCRIBE}
    return dict(grants)


def replay_grants() -> dict[str, set[str]]:
    grants: dict[str, set[str]] = defaultdict(set)
    for topic in all_topics():
        if is_dead_letter(topic):
            grants[topic] |= {READ, DESCRIBE}
            grants[topic.removesuffix(DEAD_LETTER_SUFFIX)] |= {WRITE, DESCRIBE}
    return dict(grants)


def ops_grants(service: str) -> dict[str, set[str]]:
    """The least the service's /ops page needs (shared/ops/dead_letters.py, actions.py): read its own dead-letter
    topics (those of the topics its consumer reads) and write each one's source topic for a replay. No consumer
    group: the page's reader assigns partitions and commits nothing."""
    grants: dict[str, set[str]] = defaultdict(set)
    for topic in ACCESS[service].reads:
        grants[dead_letter_topic(topic)] |= {READ, DESCRIBE}
        grants[topic] |= {WRITE, DESCRIBE}
    return dict(grants)


def _acl(resource_type: str, name: str, operations: set[str]) -> Obj:
    return {"type": "allow",
            "resource": {"type": resource_type, "name": name, "patternType": "literal"},
            "operations": sorted(operations), "host": "*"}


def kafka_user(client: str, grants: dict[str, set[str]], *, group: bool = True) -> Obj:
    acls = [_acl("topic", topic, operations) for topic, operations in sorted(grants.items())]
    if group:
        acls.append(_acl("group", layout.consumer_group(client), {READ}))
    return {
        "apiVersion": STRIMZI_API_VERSION,
        "kind": "KafkaUser",
        "metadata": {"name": layout.kafka_user(client),
                     "labels": {"strimzi.io/cluster": layout.KAFKA_CLUSTER,
                                "app.kubernetes.io/part-of": layout.PART_OF}},
        "spec": {"authentication": {"type": "scram-sha-512"},
                 "authorization": {"type": "simple", "acls": acls}},
    }


def kafka_topics() -> list[Obj]:
    return [kafka_topic(topic) for topic in all_topics()]


def kafka_users() -> list[Obj]:
    users = [kafka_user(client, topic_grants(client)) for client in ACCESS]
    users.append(kafka_user(layout.REPLAY, replay_grants()))
    return users


def ops_kafka_users() -> list[Obj]:
    """One KafkaUser per service for its /ops page (components/ops-dead-letters; the chart's opsDeadLetters)."""
    return [kafka_user(layout.ops_client(service), ops_grants(service), group=False) for service in layout.SERVICES]
