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

Reconnecting is bounded so that work flows again within seconds of a broker coming back (docs/operations.md, "Fast
recovery after a broker restart"): kafka-python waits ``reconnect_backoff_ms`` before reconnecting to a broker and
doubles the wait on each failure up to ``reconnect_backoff_max_ms``; its own default cap of 30 s meant a client could
sleep half a minute past the broker's return. The outbox relay and the consumer loop build new clients after a
failure, waiting at most ``client_restart_backoff_max_ms`` between tries, and a new client gives up its first contact
with the cluster after ``request_timeout_ms`` (kafka-python waits 30 s), so an outage never holds them longer.
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

MAX_RECOVERY_BACKOFF_MS = 5000  # no reconnect or rebuild wait may pass this: recovery is due within 15 s


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
    # Recovery after a broker restart (see above): each within the 15 s goal with room for the group to rejoin.
    reconnect_backoff_ms: int = 100  # first wait before reconnecting to a broker (kafka-python: 50)
    reconnect_backoff_max_ms: int = 1000  # the longest wait between reconnects, +/-20 % jitter (kafka-python: 30000)
    retry_backoff_ms: int = 100  # wait before retrying a failed request, e.g. finding the group coordinator again
    client_restart_backoff_max_ms: int = 2000  # the longest the outbox relay and consumer loop wait to rebuild a client
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
        if not 10 <= self.reconnect_backoff_ms <= self.reconnect_backoff_max_ms:
            raise ValueError("reconnect_backoff_ms must be at least 10 and at most reconnect_backoff_max_ms")
        if self.reconnect_backoff_max_ms > MAX_RECOVERY_BACKOFF_MS:
            raise ValueError(f"reconnect_backoff_max_ms must be at most {MAX_RECOVERY_BACKOFF_MS} (a longer wait "
                             "delays recovery after a broker restart)")
        if not 10 <= self.retry_backoff_ms <= MAX_RECOVERY_BACKOFF_MS:
            raise ValueError(f"retry_backoff_ms must be 10-{MAX_RECOVERY_BACKOFF_MS}")
        if not 100 <= self.client_restart_backoff_max_ms <= MAX_RECOVERY_BACKOFF_MS:
            raise ValueError(f"client_restart_backoff_max_ms must be 100-{MAX_RECOVERY_BACKOFF_MS}")

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    def require_credentials(self) -> None:
        """Checked where Kafka is used (the worker), not by a web process that never connects to it."""
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username
                                                               and self.sasl_password):
            raise SettingsError("KAFKA_SECURITY_PROTOCOL is SASL: KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and "
                                "KAFKA_SASL_PASSWORD must all be set")

    @property
    def client_restart_backoff_max_s(self) -> float:
        return self.client_restart_backoff_max_ms / 1000

    def connection(self) -> dict[str, object]:
        """The connection, reconnection and credential options every kafka-python client takes."""
        options: dict[str, object] = {
            "bootstrap_servers": self.servers, "security_protocol": self.security_protocol,
            "reconnect_backoff_ms": self.reconnect_backoff_ms, "reconnect_backoff_max_ms": self.reconnect_backoff_max_ms,
            "retry_backoff_ms": self.retry_backoff_ms, "bootstrap_timeout_ms": self.request_timeout_ms,
        }
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
