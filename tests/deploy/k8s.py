"""Small queries over rendered Kubernetes objects, shared by the deploy tests."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


WORKLOAD_KINDS = ("Deployment", "CronJob", "Job")


def pod_template(workload: Obj) -> Obj:
    """The pod template of a Deployment, a Job or a CronJob's Job."""
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]
    return workload["spec"]["template"]


def job_spec(workload: Obj) -> Obj:
    """The Job spec of a Job or of a CronJob's Job template."""
    return workload["spec"]["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else workload["spec"]


def workloads(objects: list[Obj]) -> list[Obj]:
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def pod_labels(workload: Obj) -> dict[str, str]:
    return pod_template(workload)["metadata"]["labels"]


def matches(selector: Obj, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def containers(workload: Obj) -> list[Obj]:
    spec = pod_template(workload)["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def all_containers(objects: list[Obj], kinds: tuple[str, ...] = WORKLOAD_KINDS) -> Iterator[tuple[Obj, Obj]]:
    """(workload, container) for every container of every Deployment, Job and CronJob (or only the kinds given)."""
    for workload in workloads(objects):
        if workload["kind"] in kinds:
            for container in containers(workload):
                yield workload, container


def config_map(objects: list[Obj], name: str) -> dict[str, str]:
    return named(objects, "ConfigMap", name).get("data", {})


def container_environment(objects: list[Obj], container: Obj) -> dict[str, Obj]:
    """Every variable the container gets: name → {"value": ...} (from a ConfigMap or literal) or the env entry."""
    variables: dict[str, Obj] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"{container['name']}: envFrom only from ConfigMaps (secrets per key)"
        for key, value in config_map(objects, source["configMapRef"]["name"]).items():
            variables[key] = {"value": value}
    for entry in container.get("env", []):
        variables[entry["name"]] = entry
    return variables


def config_map_by_prefix(objects: list[Obj], generator_name: str) -> dict[str, str]:
    """The data of the ConfigMap a kustomize configMapGenerator made (its name has a content-hash suffix)."""
    found = [obj for obj in of_kind(objects, "ConfigMap")
             if obj["metadata"]["name"].rsplit("-", 1)[0] == generator_name]
    assert len(found) == 1, f"expected one ConfigMap from generator {generator_name}, found {len(found)}"
    return found[0].get("data", {})
