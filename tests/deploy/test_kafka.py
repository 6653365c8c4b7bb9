"""Strimzi KafkaTopic and KafkaUser objects against the code's one source of truth, ``shared.events.topics``: every
topic the code uses (and no other) with production durability, and per client exactly the access it needs.

The expectations are computed here from ACCESS directly, not by calling the generator, so a bug in
deploy/render/kafka.py cannot hide itself."""
from __future__ import annotations

import inspect

import pytest

from deploy.render import layout
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS, DEAD_LETTER_SUFFIX, all_topics
from shared.runtime import ServiceRuntime
from tests.deploy import k8s
from tests.deploy.support import Obj

REPLICAS = {"prod": 3, "dev": 1}
MIN_IN_SYNC = {"prod": 2, "dev": 1}


def expected_grants(client: str) -> set[tuple[str, str, str]]:
    """(resource type, name, operation) for one client: read what it reads, write what it writes and the
    dead-letter topic of everything it reads, Describe on each of those topics, Read on its consumer group."""
    access = ACCESS[client]
    grants = {("group", f"ketalink-{client}", "Read")}
    for topic in access.reads:
        grants |= {("topic", topic, "Read"), ("topic", topic, "Describe")}
    for topic in (*access.writes, *(topic + DEAD_LETTER_SUFFIX for topic in access.reads)):
        grants |= {("topic", topic, "Write"), ("topic", topic, "Describe")}
    return grants


def granted(user: Obj) -> set[tuple[str, str, str]]:
    result = set()
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl.get("type", "allow") == "allow" and acl["resource"].get("patternType") == "literal", acl
        assert acl.get("host", "*") == "*"
        for operation in acl["operations"]:
            result.add((acl["resource"]["type"], acl["resource"]["name"], operation))
    return result


def test_consumer_groups_are_named_as_the_runtime_names_them():
    """The group ACLs assume ServiceRuntime's default group id (CONSUMER_GROUP unset); this fails if it changes."""
    assert 'or f"ketalink-{self.name}"' in inspect.getsource(ServiceRuntime.start_worker)
    assert all(layout.consumer_group(client) == f"ketalink-{client}" for client in ACCESS)


@pytest.mark.parametrize("overlay", layout.OVERLAYS)
def test_topics_are_exactly_the_code_topics(overlay: str, rendered: dict[str, list[Obj]]):
    topics = k8s.of_kind(rendered[overlay], "KafkaTopic")
    assert sorted(topic["spec"]["topicName"] for topic in topics) == all_topics()
    config = k8s.config_map_by_prefix(rendered[overlay], "ketalink-config")
    partitions = int(config.get("KAFKA_TOPIC_PARTITIONS", KafkaSettings().topic_partitions))
    for topic in topics:
        spec, name = topic["spec"], topic["spec"]["topicName"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == layout.KAFKA_CLUSTER, name
        assert spec["replicas"] == REPLICAS[overlay], name
        assert spec["config"]["min.insync.replicas"] == MIN_IN_SYNC[overlay], name
        assert spec["partitions"] == partitions, f"{name}: the services would create it with {partitions}"
        assert int(spec["config"]["retention.ms"]) >= 24 * 3600 * 1000, name
    assert int(config["KAFKA_TOPIC_REPLICATION_FACTOR"]) == REPLICAS[overlay]
    assert any(name.endswith(DEAD_LETTER_SUFFIX) for name in all_topics())


@pytest.mark.parametrize("overlay", layout.OVERLAYS)
def test_each_client_may_use_exactly_its_topics(overlay: str, rendered: dict[str, list[Obj]]):
    users = {user["metadata"]["name"]: user for user in k8s.of_kind(rendered[overlay], "KafkaUser")}
    for client in ACCESS:
        user = users.pop(f"ketalink-{client}")
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == layout.KAFKA_CLUSTER
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert granted(user) == expected_grants(client), client
    # The one other user: operators replaying a dead-letter topic into its source topic.
    replay = users.pop("ketalink-dlq-replay")
    dead_letter = [topic for topic in all_topics() if topic.endswith(DEAD_LETTER_SUFFIX)]
    expected = {("group", "ketalink-dlq-replay", "Read")}
    for topic in dead_letter:
        source = topic.removesuffix(DEAD_LETTER_SUFFIX)
        expected |= {("topic", topic, "Read"), ("topic", topic, "Describe"),
                     ("topic", source, "Write"), ("topic", source, "Describe")}
    assert granted(replay) == expected
    assert users == {}, f"unexpected KafkaUsers: {sorted(users)}"


@pytest.mark.parametrize("overlay", layout.OVERLAYS)
def test_each_worker_authenticates_as_its_own_user(overlay: str, rendered: dict[str, list[Obj]]):
    objects = rendered[overlay]
    users = {user["metadata"]["name"] for user in k8s.of_kind(objects, "KafkaUser")}
    for deployment, container in k8s.all_containers(objects):
        service = k8s.pod_labels(deployment)["app.kubernetes.io/name"]
        component = k8s.pod_labels(deployment)["app.kubernetes.io/component"]
        variables = k8s.container_environment(objects, container)
        if component in (layout.WEB, layout.MIGRATE, layout.PRUNE):
            assert "KAFKA_SASL_PASSWORD" not in variables, f"{component} gets no Kafka credentials"
            continue
        username = variables["KAFKA_SASL_USERNAME"]["value"]
        # the operators' replay moves records from a dead-letter topic back to its source: its own user
        assert username == f"ketalink-{layout.REPLAY if component == layout.REPLAY else service}"
        assert username in users
        user = k8s.named(objects, "KafkaUser", username)
        if component == layout.WORKER:
            group = variables.get("CONSUMER_GROUP", {}).get("value") or f"ketalink-{service}"
            assert ("group", group, "Read") in granted(user), f"{username} may not use consumer group {group}"
        password = variables["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": username, "key": "password"}, "Strimzi writes the password to <user>/password"
        assert variables["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert variables["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert variables["KAFKA_SSL_CAFILE"]["value"].rsplit("/", 1)[0] in mounts
