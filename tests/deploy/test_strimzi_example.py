"""deploy/k8s/examples/strimzi-kafka.yaml, the Kafka cluster deploy/README.md asks for: valid against Strimzi's own
v1 Kafka and KafkaNodePool CRDs, and what the manifests assume (cluster and namespace names, the SCRAM-over-TLS
listener the workers use, the Entity Operator watching the application namespace, the pods let through)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.render import kafka, layout, validate
from tests.deploy import k8s
from tests.deploy.support import Obj

EXAMPLE = layout.K8S_DIR / "examples" / "strimzi-kafka.yaml"


@pytest.fixture(scope="module")
def example() -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc]


def test_valid_against_strimzi_v1(example: list[Obj], kubeconform: Path, schema_dir: Path):
    assert {obj["apiVersion"] for obj in example} == {kafka.STRIMZI_API_VERSION}
    assert validate.validate(example, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir) == []


def test_the_cluster_the_manifests_expect(example: list[Obj], rendered: dict[str, list[Obj]]):
    (cluster,) = k8s.of_kind(example, "Kafka")
    assert (cluster["metadata"]["name"], cluster["metadata"]["namespace"]) == (layout.KAFKA_CLUSTER,
                                                                                layout.KAFKA_NAMESPACE)
    (pool,) = k8s.of_kind(example, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == layout.KAFKA_CLUSTER
    assert pool["spec"]["replicas"] >= kafka.REPLICAS
    (listener,) = [item for item in cluster["spec"]["kafka"]["listeners"] if item["port"] == layout.KAFKA_TLS_PORT]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert cluster["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert cluster["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    assert cluster["spec"]["kafka"]["config"]["min.insync.replicas"] == kafka.MIN_IN_SYNC_REPLICAS
    (namespace,) = k8s.of_kind(rendered["prod"], "Namespace")
    watched = namespace["metadata"]["name"]
    operators = cluster["spec"]["entityOperator"]
    assert operators["topicOperator"]["watchedNamespace"] == operators["userOperator"]["watchedNamespace"] == watched
    (peer,) = listener["networkPolicyPeers"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": watched}
    kafka_clients = [workload for workload in k8s.workloads(rendered["prod"])
                     if k8s.pod_labels(workload)["app.kubernetes.io/component"] in (layout.WORKER, layout.REPLAY)]
    assert kafka_clients and all(k8s.matches(peer["podSelector"], k8s.pod_labels(w)) for w in kafka_clients)
    others = [workload for workload in k8s.workloads(rendered["prod"]) if workload not in kafka_clients]
    assert not any(k8s.matches(peer["podSelector"], k8s.pod_labels(w)) for w in others)
