"""The Kafka reconnect settings: defaults that meet the recovery goal (flowing again within 15 s of a broker
restart), validated at start, and handed to every kafka-python client under the names kafka-python knows.
The measured recovery is tests/fault/test_broker_recovery.py."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError

from shared.config import SettingsError, load_settings
from shared.events.consumer import ConsumerPolicy
from shared.events.kafka_clients import MAX_RECOVERY_BACKOFF_MS, KafkaSettings
from shared.db import create_database
from shared.events.outbox import OutboxRelay, enqueue
from shared.fhir.messaging import build_message
from shared.runtime import ServiceRuntime, ServiceSettings

RECONNECT_OPTIONS = ("reconnect_backoff_ms", "reconnect_backoff_max_ms", "retry_backoff_ms", "bootstrap_timeout_ms")


def test_the_defaults_bound_every_wait_well_inside_the_recovery_goal():
    settings = load_settings(KafkaSettings, "KAFKA_", {})
    assert settings.reconnect_backoff_max_ms <= 1000  # kafka-python's own default is 30000
    assert settings.client_restart_backoff_max_ms <= 2000
    assert settings.reconnect_backoff_max_ms * 1.2 + settings.client_restart_backoff_max_ms < 15000


@pytest.mark.parametrize("client", [KafkaProducer, KafkaConsumer, KafkaAdminClient])
def test_every_client_takes_the_reconnect_options_under_kafka_pythons_own_names(client: type):
    options = KafkaSettings().connection()
    for name in RECONNECT_OPTIONS:
        assert name in client.DEFAULT_CONFIG, f"{client.__name__} has no option {name}"
    assert {name: options[name] for name in RECONNECT_OPTIONS} == {
        "reconnect_backoff_ms": 100, "reconnect_backoff_max_ms": 1000, "retry_backoff_ms": 100,
        "bootstrap_timeout_ms": KafkaSettings().request_timeout_ms}


def test_the_settings_come_from_the_environment():
    settings = load_settings(KafkaSettings, "KAFKA_", {"KAFKA_RECONNECT_BACKOFF_MS": "200",
                                                       "KAFKA_RECONNECT_BACKOFF_MAX_MS": "3000",
                                                       "KAFKA_CLIENT_RESTART_BACKOFF_MAX_MS": "4000"})
    assert settings.connection()["reconnect_backoff_max_ms"] == 3000
    assert settings.client_restart_backoff_max_s == 4.0


@pytest.mark.parametrize("variable, value, message", [
    ("KAFKA_RECONNECT_BACKOFF_MAX_MS", "30000", "reconnect_backoff_max_ms must be at most"),
    ("KAFKA_RECONNECT_BACKOFF_MS", "5", "reconnect_backoff_ms must be at least 10"),
    ("KAFKA_RECONNECT_BACKOFF_MS", "2000", "at most reconnect_backoff_max_ms"),
    ("KAFKA_RETRY_BACKOFF_MS", "60000", "retry_backoff_ms must be"),
    ("KAFKA_CLIENT_RESTART_BACKOFF_MAX_MS", "10000", "client_restart_backoff_max_ms must be"),
])
def test_a_wait_that_would_miss_the_goal_stops_the_start(variable: str, value: str, message: str):
    with pytest.raises(SettingsError, match=message):
        load_settings(KafkaSettings, "KAFKA_", {variable: value})
    assert MAX_RECOVERY_BACKOFF_MS <= 5000


def test_the_runtime_gives_the_relay_and_the_consumer_loop_the_rebuild_wait(tmp_path: Path):
    runtime = ServiceRuntime("documentation", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'doc.db'}"),
                             KafkaSettings(client_restart_backoff_max_ms=700))
    assert runtime.relay.max_backoff_s == 0.7
    assert ConsumerPolicy().reconnect_max_backoff_s <= 2.0


def test_the_relay_tries_again_at_least_every_max_backoff_while_the_broker_is_away(tmp_path: Path):
    """A producer factory that fails as kafka-python does with no broker (a stand-in: no broker is needed to see
    how long the relay waits between tries)."""
    engine = create_database(f"sqlite:///{tmp_path / 'relay.db'}")
    tries: list[float] = []

    def no_broker() -> KafkaProducer:
        tries.append(time.monotonic())
        raise KafkaTimeoutError("no broker within bootstrap_timeout_ms")

    with engine.begin() as conn:  # something to send, so the relay asks for a producer
        enqueue(conn, "ketalink.test", "p1", build_message("vitals-recorded", "urn:test", [], with_provenance=False))
    relay = OutboxRelay(engine, no_broker, max_backoff_s=0.3)
    relay.start()
    time.sleep(2.0)
    relay.stop()
    gaps = [b - a for a, b in zip(tries, tries[1:])]
    assert len(tries) >= 4, tries
    assert max(gaps[1:]) < 0.3 + 0.5, gaps  # the cap, with room for a loaded machine
