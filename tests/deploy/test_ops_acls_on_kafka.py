"""The /ops page's KafkaUser ACLs on a real Apache Kafka with authorization on (StandardAuthorizer, SCRAM-SHA-512):
the ACLs of the rendered KafkaUser ``ketalink-intake-ops`` (components/ops-dead-letters), granted as Strimzi grants
them, let the page's own code (shared.ops OpsService) list intake's dead letters and replay one into its source topic,
and refuse what the page never does: reading a source topic, writing a dead-letter topic, another service's topics.

Needs Java 17 and Apache Kafka's jars (``make test-kafka``'s, resolved with Maven into var/kafka on first use)."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient, NewTopic,
                         ResourcePattern, ResourceType)
from kafka.errors import TopicAuthorizationFailedError

from deploy.local.ports import free_port
from shared.db import create_database
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import EHR_EVENTS, EHR_RESPONSES, INTAKE_EVENTS, ORDERS_EVENTS, all_topics, dead_letter_topic
from shared.ops.actions import OpsService
from tests.deploy import k8s
from tests.deploy.support import Obj, render_overlay_with
from tests.support.processes import ROOT, ManagedProcess, base_environment, port_open

USER, PASSWORD = "ketalink-intake-ops", f"secret-{uuid.uuid4().hex[:12]}"
CONSUMER = "ketalink-intake"  # the dlq-consumer header intake's worker writes


def _kafka_runtime() -> tuple[str, str]:
    """Java and Apache Kafka's classpath (resolved from Maven Central on first use, as ``make test-kafka`` does)."""
    from tests.support.apache_kafka import kafka_classpath

    java = shutil.which("java")
    try:
        if java is None:
            raise RuntimeError("java is not on PATH")
        return java, kafka_classpath()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        pytest.fail(f"Apache Kafka unavailable (needs Java 17 and Maven): {error}", pytrace=False)


@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One KRaft node: PLAINTEXT (the test's admin, a super user as ANONYMOUS) and SASL_PLAINTEXT with SCRAM-SHA-512
    (the page's user, created at format time), ACLs enforced. Returns (admin bootstrap, SASL bootstrap)."""
    java, classpath = _kafka_runtime()
    data = tmp_path_factory.mktemp("secured-kafka")
    port, sasl_port, controller = free_port(), free_port(), free_port()
    properties = data / "server.properties"
    properties.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1", f"controller.quorum.voters=1@127.0.0.1:{controller}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:ANONYMOUS", "allow.everyone.if.no.acl.found=false",
        f"log.dirs={data / 'logs'}", "num.partitions=1", "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=3", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1", "auto.create.topics.enable=false", ""]))
    from tests.support.apache_kafka import LOG4J2

    (data / "log4j2.properties").write_text(LOG4J2.replace("level = info", "level = warn"))
    jvm = [java, "-Xms128m", "-Xmx512m", f"-Dlog4j2.configurationFile={data / 'log4j2.properties'}", "-cp", classpath]
    env = base_environment()
    subprocess.run([*jvm, "kafka.tools.StorageTool", "format", "--cluster-id", "q1Sh-9_ISia_zwGINzRvyQ",
                    "--config", str(properties), "--add-scram", f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"],
                   cwd=ROOT, env=env, check=True, timeout=180, capture_output=True)
    broker = ManagedProcess("secured-broker", [*jvm, "kafka.Kafka", str(properties)], env, data,
                            port_open(sasl_port), ready_timeout_s=180.0).start()
    try:
        yield f"127.0.0.1:{port}", f"127.0.0.1:{sasl_port}"
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def page_user(kubectl: Path, tmp_path_factory: pytest.TempPathFactory) -> Obj:
    objects = render_overlay_with(kubectl, tmp_path_factory.mktemp("ops-acl"), "prod", components=["ops-dead-letters"])
    return k8s.named(objects, "KafkaUser", USER)


def _grant(admin: KafkaAdminClient, user: Obj) -> None:
    """The KafkaUser's ACLs as Strimzi's User Operator creates them (simple authorization)."""
    acls = []
    for entry in user["spec"]["authorization"]["acls"]:
        resource = ResourcePattern(ResourceType[entry["resource"]["type"].upper()], entry["resource"]["name"],
                                   ACLResourcePatternType[entry["resource"]["patternType"].upper()])
        for operation in entry["operations"]:
            acls.append(ACL(f"User:{user['metadata']['name']}", entry["host"], ACLOperation[operation.upper()],
                            ACLPermissionType.ALLOW, resource))
    result = admin.create_acls(acls)
    assert not result["failed"], result["failed"]


@pytest.fixture(scope="module")
def granted(secured_broker: tuple[str, str], page_user: Obj) -> Iterator[str]:
    admin_bootstrap, _ = secured_broker
    admin = KafkaAdminClient(bootstrap_servers=[admin_bootstrap], client_id="acl-test-admin", request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(topic, 1, 1) for topic in all_topics()])
        _grant(admin, page_user)
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=[admin_bootstrap])
    producer.send(dead_letter_topic(EHR_EVENTS), key=b"patient-1", value=b'{"resourceType": "Bundle"}', headers=[
        ("dlq-reason", b"PermanentError: simulated"), ("dlq-consumer", CONSUMER.encode()),
        ("dlq-source-topic", EHR_EVENTS.encode()), ("dlq-source-partition", b"0"),
        ("dlq-source-offset", b"3")]).get(timeout=30)
    producer.close()
    yield admin_bootstrap


def _as_page(sasl_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                         sasl_mechanism="SCRAM-SHA-512", sasl_username=USER, sasl_password=PASSWORD,
                         request_timeout_ms=10000)


def test_the_page_user_lists_and_replays_intake_dead_letters(granted: str, secured_broker: tuple[str, str],
                                                             tmp_path: Path):
    ops = OpsService("intake", create_database(f"sqlite:///{tmp_path / 'intake.db'}"), _as_page(secured_broker[1]),
                     CONSUMER)
    (listed,) = ops.dead_letters()
    assert listed.letter.reason == "PermanentError: simulated" and listed.letter.source_offset == 3
    (replayed,) = ops.replay([listed.letter.ref], "EHR mapping fixed", "test", apply=True)
    assert replayed.applied and replayed.to_topic == EHR_EVENTS
    reader = KafkaConsumer(bootstrap_servers=[granted], group_id=None, consumer_timeout_ms=5000)
    reader.assign([TopicPartition(EHR_EVENTS, 0)])
    reader.seek_to_beginning()
    assert [record.key for record in reader] == [b"patient-1"]
    reader.close()


@pytest.mark.parametrize(("action", "topic"), [
    ("read", EHR_EVENTS),  # a source topic: the page writes it, never reads it
    ("write", dead_letter_topic(EHR_EVENTS)),  # its own dead-letter topic: read only
    ("read", dead_letter_topic(INTAKE_EVENTS)),  # orders' dead letters
    ("write", ORDERS_EVENTS),
    ("write", INTAKE_EVENTS),  # what intake itself publishes: the worker's, not the page's
    ("read", EHR_RESPONSES),
])
def test_the_page_user_is_refused_everything_else(granted: str, secured_broker: tuple[str, str], action: str,
                                                  topic: str):
    options = _as_page(secured_broker[1]).connection()
    with pytest.raises(TopicAuthorizationFailedError):
        if action == "write":
            producer = KafkaProducer(**options, max_block_ms=10000, request_timeout_ms=10000, retries=0)
            try:
                producer.send(topic, value=b"x").get(timeout=20)
            finally:
                producer.close(timeout=5)
        else:
            consumer = KafkaConsumer(**options, group_id=None, request_timeout_ms=10000)
            try:
                consumer.assign([TopicPartition(topic, 0)])
                consumer.seek_to_beginning()
                consumer.poll(timeout_ms=10000)
                consumer.position(TopicPartition(topic, 0))
                records = consumer.poll(timeout_ms=5000)
                assert not records, "read a topic it may not"
                raise AssertionError(f"no authorization error reading {topic}")
            finally:
                consumer.close()
