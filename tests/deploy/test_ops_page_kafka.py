"""The /ops page's Kafka access in the deployment: off by default (the web pods hold no Kafka credentials and cannot
reach the brokers; dead letters go through the CLI); turned on (kustomize components/ops-dead-letters or the chart's
opsDeadLetters) each service's web pods get a KafkaUser of their own whose ACLs are exactly what the page's reader and
replay use — Read and Describe on the service's own dead-letter topics, Write and Describe on their source topics, no
consumer group — with its Secret, the cluster CA and an egress policy to the brokers, and nothing else changes."""
from __future__ import annotations

from pathlib import Path

import pytest

from deploy.render import layout, network, validate
from shared.events.topics import ACCESS
from shared.ops.dead_letters import DeadLetterRef, service_dead_letter_topics
from tests.deploy import k8s
from tests.deploy.support import Obj, render_overlay_with
from tests.deploy.test_helm_chart import normalise, prod_values, template

# Written out, not derived from deploy/render/kafka.py: what intake's page may do and nothing more.
INTAKE_OPS_ACLS = {("topic", "ehr.events.dlq", "Describe"), ("topic", "ehr.events.dlq", "Read"),
                   ("topic", "ehr.responses.dlq", "Describe"), ("topic", "ehr.responses.dlq", "Read"),
                   ("topic", "ehr.events", "Describe"), ("topic", "ehr.events", "Write"),
                   ("topic", "ehr.responses", "Describe"), ("topic", "ehr.responses", "Write")}


@pytest.fixture(scope="module")
def kustomize_ops(kubectl: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return render_overlay_with(kubectl, tmp_path_factory.mktemp("ops"), "prod", components=["ops-dead-letters"])


@pytest.fixture(scope="module")
def helm_ops(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return template(helm, {**prod_values(), "opsDeadLetters": {"enabled": True}}, tmp_path_factory.mktemp("helm-ops"))


def _acls(user: Obj) -> set[tuple[str, str, str]]:
    result = set()
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl["type"] == "allow" and acl["host"] == "*" and acl["resource"]["patternType"] == "literal", acl
        result |= {(acl["resource"]["type"], acl["resource"]["name"], operation) for operation in acl["operations"]}
    return result


def _ops_users(objects: list[Obj]) -> dict[str, Obj]:
    return {user["metadata"]["name"]: user for user in k8s.of_kind(objects, "KafkaUser")
            if user["metadata"]["name"].endswith(f"-{layout.OPS}")}


def _reaches_kafka(objects: list[Obj], workload: Obj) -> bool:
    return any(k8s.matches(policy["spec"]["podSelector"], k8s.pod_labels(workload))
               for policy in k8s.of_kind(objects, "NetworkPolicy")
               for rule in policy["spec"].get("egress", []) for peer in rule.get("to", [])
               if peer.get("podSelector", {}).get("matchLabels", {}).get("strimzi.io/cluster"))


def test_off_by_default_the_web_pods_hold_no_kafka_credentials(rendered: dict[str, list[Obj]], helm: Path,
                                                                tmp_path: Path):
    defaults = template(helm, {"config": {"KETALINK_CLINIC_TIMEZONE": "America/Chicago"}}, tmp_path)
    for objects in (*rendered.values(), defaults):
        assert _ops_users(objects) == {}
        for deployment, container in k8s.all_containers(objects, ("Deployment",)):
            if k8s.pod_labels(deployment)["app.kubernetes.io/component"] != layout.WEB:
                continue
            variables = k8s.container_environment(objects, container)
            assert "KAFKA_SASL_USERNAME" not in variables and "KAFKA_SASL_PASSWORD" not in variables
            assert "kafka-ca" not in {volume["name"] for volume in k8s.pod_template(deployment)["spec"]["volumes"]}
            assert not _reaches_kafka(objects, deployment), deployment["metadata"]["name"]


@pytest.mark.parametrize("tool", ["kustomize", "helm"])
def test_each_page_user_has_exactly_the_minimum(tool: str, kustomize_ops: list[Obj], helm_ops: list[Obj]):
    users = _ops_users(kustomize_ops if tool == "kustomize" else helm_ops)
    assert sorted(users) == sorted(f"ketalink-{service}-ops" for service in layout.SERVICES)
    assert _acls(users["ketalink-intake-ops"]) == INTAKE_OPS_ACLS
    for service in layout.SERVICES:
        user = users[f"ketalink-{service}-ops"]
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        # what the page's code reads (shared/ops/dead_letters.py) and replays into (DeadLetterRef.source_topic)
        dead_letter_topics = set(service_dead_letter_topics(service))
        sources = {DeadLetterRef(topic, 0, 0).source_topic for topic in dead_letter_topics}
        assert sources == set(ACCESS[service].reads)
        expected = {("topic", topic, op) for topic in dead_letter_topics for op in ("Read", "Describe")}
        expected |= {("topic", topic, op) for topic in sources for op in ("Write", "Describe")}
        assert _acls(user) == expected, service  # no group, no cluster, no other service's topics


@pytest.mark.parametrize("tool", ["kustomize", "helm"])
def test_turned_on_only_the_web_pods_gain_their_own_user(tool: str, kustomize_ops: list[Obj], helm_ops: list[Obj],
                                                         rendered: dict[str, list[Obj]]):
    objects = kustomize_ops if tool == "kustomize" else helm_ops
    for deployment, container in k8s.all_containers(objects, ("Deployment",)):
        service = k8s.pod_labels(deployment)["app.kubernetes.io/name"]
        component = k8s.pod_labels(deployment)["app.kubernetes.io/component"]
        variables = k8s.container_environment(objects, container)
        own = "ketalink-" + (f"{service}-ops" if component == layout.WEB else service)
        assert variables["KAFKA_SASL_USERNAME"] == {"name": "KAFKA_SASL_USERNAME", "value": own}
        assert variables["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": own, "key": "password"}
        assert {"name": "kafka-ca", "mountPath": layout.KAFKA_CA_DIR, "readOnly": True} in container["volumeMounts"]
        assert _reaches_kafka(objects, deployment), deployment["metadata"]["name"]
    policy = k8s.named(objects, "NetworkPolicy", network.OPS_KAFKA_POLICY)
    assert policy["spec"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": layout.KAFKA_TLS_PORT}]
    # nothing else changes: the same objects as without it, but the web Deployments, the users and the policy
    before = normalise(rendered["prod"], kustomize=True)
    after = normalise(kustomize_ops, kustomize=True) if tool == "kustomize" else normalise(objects, kustomize=False)
    added = {("KafkaUser", f"ketalink-{s}-ops") for s in layout.SERVICES} | {("NetworkPolicy", network.OPS_KAFKA_POLICY)}
    assert set(after) == set(before) | added
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("Deployment", f"{s}-{layout.WEB}") for s in layout.SERVICES}


def test_chart_and_kustomize_agree_with_the_page_on(kustomize_ops: list[Obj], helm_ops: list[Obj],
                                                    kubeconform: Path, schema_dir: Path):
    from_helm, from_kustomize = normalise(helm_ops, kustomize=False), normalise(kustomize_ops, kustomize=True)
    assert sorted(from_helm) == sorted(from_kustomize)
    different = [key for key in from_helm if from_helm[key] != from_kustomize[key]]
    assert not different, f"{different[0]}:\nhelm: {from_helm[different[0]]}\nkustomize: {from_kustomize[different[0]]}"
    assert validate.validate(kustomize_ops, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir) == []


def test_values_schema_refuses_a_bad_toggle(helm: Path, tmp_path: Path):
    result = template(helm, {**prod_values(), "opsDeadLetters": {"enabled": "yes"}}, tmp_path, check=False)
    assert result.returncode != 0 and "opsDeadLetters" in result.stderr, result.stderr[-2000:]
