"""kafka-python producers, consumers and topic set-up, configured from the environment.

Group timing is configurable because brokers differ: the embedded Tansu broker makes a group join wait
``session_timeout_ms / 2`` (2000/500 ms gives ~1 s), while Apache Kafka refuses sessions under 6000 ms by default.
``max_poll_interval_ms`` is also the rebalance timeout: the broker may hold a JoinGroup that long (waiting for
members that have gone), and kafka-python waits that plus 5 s before it joins again. The local stack and the tests
set 30 s so that a restarted process rejoins quickly. Consumers are closed with ``close_consumer`` (see there).
``fetch_max_wait_ms`` bounds how long the broker may hold a fetch while no record is waiting: Apache Kafka answers
as soon as a record arrives, but Tansu answers a held fetch only part-way through its wait, so a short wait keeps
each hop quick on it at a small cost in idle fetches; with Apache Kafka only, kafka-python's default costs nothing
(the figures are in docs/performance.md, "Profile findings").
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import MemberState

from shared.config import SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaSettings:
    """Environment: ``KAFKA_BOOTSTRAP_SERVERS`` and the ``KAFKA_*`` fields below (prefix ``KAFKA_``)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    session_timeout_ms: int = 10000
    heartbeat_interval_ms: int = 3000
    max_poll_interval_ms: int = 300000  # the longest one poll's records may take (handlers, EHR retries) to process
    fetch_max_wait_ms: int = 100  # the longest the broker holds a fetch with nothing to return (see above)
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    request_timeout_ms: int = 15000
    # Production (Strimzi KafkaUser): SASL_SSL with SCRAM-SHA-512; the password comes from a Secret.
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password: str = ""
    ssl_cafile: str = ""

    def validate(self) -> None:
        if self.security_protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError("security_protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
        if not self.bootstrap_servers.strip():
            raise ValueError("bootstrap_servers must name at least one host:port")
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        if self.max_poll_interval_ms < self.session_timeout_ms:
            raise ValueError("max_poll_interval_ms must be at least session_timeout_ms")
        if not 1 <= self.fetch_max_wait_ms <= 5000:
            raise ValueError("fetch_max_wait_ms must be 1-5000")
        if self.topic_partitions < 1 or self.topic_replication_factor < 1:
            raise ValueError("topic_partitions and topic_replication_factor must be at least 1")

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def require_credentials(self) -> None:
        """Checked where Kafka is used (the worker), not by a web process that never connects to it."""
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username
                                                               and self.sasl_password):
            raise SettingsError("KAFKA_SECURITY_PROTOCOL is SASL: KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and "
                                "KAFKA_SASL_PASSWORD must all be set")

    def connection(self) -> dict[str, object]:
        """The connection and credential options every kafka-python client takes."""
        options: dict[str, object] = {"bootstrap_servers": self.servers, "security_protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            options.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                           sasl_plain_password=self.sasl_password)
        if self.ssl_cafile:
            options["ssl_cafile"] = self.ssl_cafile
        return options


def create_producer(settings: KafkaSettings, client_id: str) -> KafkaProducer:
    """An idempotent producer (acks=all): a retried send is written once by the broker."""
    return KafkaProducer(
        **settings.connection(),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=settings.request_timeout_ms,
        max_block_ms=settings.request_timeout_ms,
    )


def create_consumer(settings: KafkaSettings, group_id: str, topics: list[str], client_id: str) -> KafkaConsumer:
    """A group consumer that commits only after processing (no auto-commit), reading new groups from the start."""
    return KafkaConsumer(
        *topics,
        **settings.connection(),
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        request_timeout_ms=max(settings.request_timeout_ms, settings.session_timeout_ms + 5000),
        max_poll_records=50,
    )


def close_consumer(consumer: KafkaConsumer) -> None:
    """Close a group consumer; it leaves the group only if its join has completed.

    A LeaveGroup sent while the broker still holds the member's JoinGroup leaves Tansu 0.6 with a group whose
    elected leader is gone: every later member joins as a follower and waits for an assignment that never comes,
    for as long as the broker runs (``tests/integration/test_consumer_loop.py`` brings it about on demand; the fault
    tests hit it when a service stopped seconds after a broker restart). Without the leave, the broker expires the
    half-joined member after its session timeout, as it does for a crashed process; Apache Kafka does the same."""
    coordinator = consumer._coordinator  # kafka-python 3.0.x: the only way to know whether a join is in flight
    if coordinator.state is not MemberState.STABLE:
        coordinator.reset_generation()  # forget the member id: close() then sends no LeaveGroup
    consumer.close(autocommit=False)


def ensure_topics(settings: KafkaSettings, topics: list[str]) -> None:
    """Create the topics that do not exist yet; raise KafkaError when the broker cannot be reached."""
    admin = KafkaAdminClient(**settings.connection(), client_id="ketalink-topics",
                             request_timeout_ms=settings.request_timeout_ms)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        try:
            admin.create_topics([
                NewTopic(name=t, num_partitions=settings.topic_partitions,
                         replication_factor=settings.topic_replication_factor)
                for t in missing
            ])
        except TopicAlreadyExistsError:
            pass
        log.info("created topics", extra={"topics": missing})
    finally:
        admin.close()


__all__ = ["KafkaSettings", "KafkaError", "create_producer", "create_consumer", "close_consumer", "ensure_topics"]
