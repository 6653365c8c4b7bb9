"""The Kubernetes manifests: generated files up to date, every overlay rendered by kustomize and valid against the
Kubernetes schemas, and the deployment policies of issue #7 held by every object of every overlay."""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.render import files, layout
from shared.clinic_time import ClinicTimeSettings, load_clinic_time
from shared.config import load_settings
from shared.events.kafka_clients import KafkaSettings
from shared.roles import RoleSettings
from shared.runtime import ServiceSettings
from shared.smart.backend import BackendAuthSettings
from shared.ui.banner import BannerSettings
from shared.smart.settings import SmartSettings
from tests.deploy import k8s
from tests.deploy.support import Obj, run

OVERLAYS = layout.OVERLAYS
# The oldest Kubernetes minor these manifests support, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.31", "1.37")


def test_generated_files_match_the_generator():
    stale = [str(path.relative_to(layout.ROOT)) for path in files.stale_files()]
    assert not stale, f"out of date (run `.venv/bin/python -m deploy.render` and commit): {stale}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_schemas(overlay: str, rendered: dict[str, list[Obj]],
                                                    validator_python: Path):
    failures = json.loads(run([validator_python, "-m", "deploy.render.validate", *KUBERNETES_VERSIONS],
                              stdin=json.dumps(rendered[overlay])))
    assert failures == []


def test_the_validator_rejects_what_it_should(validator_python: Path):
    """Guards the check itself: an unknown field, a bad enum value and an unknown kind are all reported."""
    bad = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"portz": []}},
        {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaUser",
         "metadata": {"name": "b", "labels": {"strimzi.io/cluster": "c"}},
         "spec": {"authorization": {"type": "simple", "acls": [
             {"resource": {"type": "topic", "name": "t"}, "operations": ["Reed"]}]}}},
        {"apiVersion": "example.org/v1", "kind": "Unknown", "metadata": {"name": "c"}},
    ]
    failures = json.loads(run([validator_python, "-m", "deploy.render.validate", "1.37"], stdin=json.dumps(bad)))
    assert sorted({failure["object"] for failure in failures}) == ["KafkaUser/b", "Service/a", "Unknown/c"]


@pytest.mark.parametrize("overlay", OVERLAYS)
class TestPolicies:
    def test_no_secret_objects_and_no_secret_values_in_config(self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        assert k8s.of_kind(objects, "Secret") == []
        for config_map in k8s.of_kind(objects, "ConfigMap"):
            for key in config_map.get("data", {}):
                assert not re.search(r"PASSWORD|SECRET|TOKEN|DATABASE_URL", key), \
                    f"{config_map['metadata']['name']}: {key} belongs in a Secret"

    def test_every_container_is_locked_down(self, overlay: str, rendered: dict[str, list[Obj]]):
        for deployment, container in k8s.all_containers(rendered[overlay]):
            pod = k8s.pod_template(deployment)["spec"]
            where = f"{deployment['metadata']['name']}/{container['name']}"
            merged = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            assert merged.get("runAsNonRoot") is True, where
            assert merged.get("runAsUser", 0) > 0, where
            assert merged.get("readOnlyRootFilesystem") is True, where
            assert merged.get("allowPrivilegeEscalation") is False, where
            assert merged.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not merged.get("capabilities", {}).get("add"), where
            assert merged.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            assert not container.get("securityContext", {}).get("privileged"), where
            assert pod.get("automountServiceAccountToken") is False, where
            assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where

    def test_every_container_has_probes_and_limits(self, overlay: str, rendered: dict[str, list[Obj]]):
        """Probes on every long-running container; the replay Job's container runs to completion, so it has
        limits and a deadline (activeDeadlineSeconds) instead."""
        for deployment, container in k8s.all_containers(rendered[overlay]):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            if deployment["kind"] == "CronJob":
                assert deployment["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0, where
            else:
                ports = {port["name"] for port in container.get("ports", [])}
                expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
                for probe, path in expected.items():
                    http = container.get(probe, {}).get("httpGet")
                    assert http and http["path"] == path and http["port"] in ports, f"{where}: {probe}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{where}: {kind}"

    def test_images_are_pinned(self, overlay: str, rendered: dict[str, list[Obj]]):
        for deployment, container in k8s.all_containers(rendered[overlay]):
            image = container["image"]
            name, _, tag = image.rpartition(":") if "@" not in image else (image, "", "digest")
            assert name and tag and tag != "latest" and "/" not in tag, f"{image}: tag it (not latest)"
            assert not image.startswith(f"{layout.IMAGE_REPOSITORY}/"), f"{image}: the overlay names no registry"
            assert container.get("imagePullPolicy") != "Always" or "@" in image

    def test_every_deployment_has_autoscaler_budget_and_network_policies(
            self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        policies = k8s.of_kind(objects, "NetworkPolicy")
        for workload in k8s.workloads(objects):
            labels = k8s.pod_labels(workload)
            selecting = [policy for policy in policies if k8s.matches(policy["spec"]["podSelector"], labels)]
            deny_all = [policy for policy in selecting
                        if set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                        and not policy["spec"].get("ingress") and not policy["spec"].get("egress")]
            assert deny_all, f"{workload['metadata']['name']}: no default-deny NetworkPolicy selects it"
            assert len(selecting) > len(deny_all), f"{workload['metadata']['name']}: nothing allowed at all"
        for deployment in k8s.of_kind(objects, "Deployment"):
            name, labels = deployment["metadata"]["name"], k8s.pod_labels(deployment)
            assert "replicas" not in deployment["spec"], f"{name}: the HorizontalPodAutoscaler owns replicas"
            assert k8s.matches(deployment["spec"]["selector"], labels), name
            scalers = [hpa for hpa in k8s.of_kind(objects, "HorizontalPodAutoscaler")
                       if hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": name}]
            assert len(scalers) == 1, f"{name}: one HorizontalPodAutoscaler"
            assert 1 <= scalers[0]["spec"]["minReplicas"] <= scalers[0]["spec"]["maxReplicas"]
            budgets = [pdb for pdb in k8s.of_kind(objects, "PodDisruptionBudget")
                       if k8s.matches(pdb["spec"]["selector"], labels)]
            assert len(budgets) == 1, f"{name}: one PodDisruptionBudget"

    def test_network_policies_allow_only_what_is_needed(self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        for policy in k8s.of_kind(objects, "NetworkPolicy"):
            for rule in [*policy["spec"].get("ingress", []), *policy["spec"].get("egress", [])]:
                assert rule.get("ports"), f"{policy['metadata']['name']}: a rule without ports opens every port"
                for peer in [*rule.get("from", []), *rule.get("to", [])]:
                    if "ipBlock" in peer:
                        network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                        assert network.prefixlen >= 8 and not network.is_global, \
                            f"{policy['metadata']['name']}: {network} is wider than a site network"
                    else:
                        assert peer.get("podSelector", {}).get("matchLabels"), \
                            f"{policy['metadata']['name']}: a peer must name its pods"
        # Only the workers (and the replay Job) reach the broker; the web part never talks to Kafka.
        for deployment in k8s.workloads(objects):
            labels = k8s.pod_labels(deployment)
            reaches_kafka = any(
                k8s.matches(policy["spec"]["podSelector"], labels)
                for policy in k8s.of_kind(objects, "NetworkPolicy")
                for rule in policy["spec"].get("egress", []) for peer in rule.get("to", [])
                if peer.get("podSelector", {}).get("matchLabels", {}).get("strimzi.io/cluster"))
            assert reaches_kafka == (labels["app.kubernetes.io/component"] in (layout.WORKER, layout.REPLAY)), \
                deployment["metadata"]["name"]

    def test_services_and_monitors_point_at_real_ports(self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        for service in k8s.of_kind(objects, "Service"):
            if not service["spec"].get("selector"):
                continue  # the Ingress sink for paths that must not be public
            targets = [d for d in k8s.of_kind(objects, "Deployment")
                       if k8s.matches({"matchLabels": service["spec"]["selector"]}, k8s.pod_labels(d))]
            assert len(targets) == 1, service["metadata"]["name"]
            names = {port["name"] for c in k8s.containers(targets[0]) for port in c.get("ports", [])}
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in names, f"{service['metadata']['name']}: {port}"
        for monitor in k8s.of_kind(objects, "ServiceMonitor"):
            selected = [s for s in k8s.of_kind(objects, "Service")
                        if k8s.matches(monitor["spec"]["selector"], s["metadata"].get("labels", {}))]
            ports = {port["name"] for service in selected for port in service["spec"]["ports"]}
            assert {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]} <= ports
        scraped = {monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
                   for monitor in k8s.of_kind(objects, "ServiceMonitor")}
        assert scraped == set(layout.SERVICES)

    def test_ingress_serves_each_public_base_url_over_tls(self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        (ingress,) = k8s.of_kind(objects, "Ingress")
        tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
        routed: dict[str, str] = {}
        for rule in ingress["spec"]["rules"]:
            assert rule["host"] in tls_hosts, f"{rule['host']}: not covered by TLS"
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]["name"]
                if path["path"] in ("/metrics", "/readyz"):
                    assert backend == "ketalink-not-exposed" and path["pathType"] == "Exact"
                elif path["path"] == "/":
                    routed[rule["host"]] = backend
        for service in layout.SERVICES:
            url = k8s.config_map_by_prefix(objects, f"{service}-config")["PUBLIC_BASE_URL"]
            assert urlsplit(url).scheme == "https", url
            assert routed.get(urlsplit(url).hostname) == f"{service}-web", f"{url} is not routed to {service}"

    def test_namespace_enforces_the_restricted_pod_security_standard(
            self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        (namespace,) = k8s.of_kind(objects, "Namespace")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        for obj in objects:
            if obj["kind"] != "Namespace":
                assert obj["metadata"].get("namespace") == namespace["metadata"]["name"], obj["metadata"]["name"]

    def test_configuration_is_what_the_code_reads_and_valid(self, overlay: str, rendered: dict[str, list[Obj]]):
        objects = rendered[overlay]
        known = {field.name.upper() for field in dataclasses.fields(ServiceSettings)}
        known |= {f"KAFKA_{field.name.upper()}" for field in dataclasses.fields(KafkaSettings)}
        known |= {f"SMART_{field.name.upper()}" for field in dataclasses.fields(SmartSettings)}
        known |= {f"EHR_BACKEND_{field.name.upper()}" for field in dataclasses.fields(BackendAuthSettings)}
        known |= {f"KETALINK_{field.name.upper()}" for cls in (ClinicTimeSettings, RoleSettings, BannerSettings)
                  for field in dataclasses.fields(cls)}
        known |= layout.NOT_YET_READ | layout.CONTAINER_SETTINGS
        for deployment, container in k8s.all_containers(objects, ("Deployment",)):
            variables = k8s.container_environment(objects, container)
            service = k8s.pod_labels(deployment)["app.kubernetes.io/name"]
            clinic = {name for name in variables if name.startswith(f"{service.upper()}_")}
            unknown = set(variables) - known - clinic
            assert not unknown, f"{deployment['metadata']['name']}: not read by anything: {sorted(unknown)}"
            check_clinic_settings(service, {name: variables[name]["value"] for name in clinic})
            literal = {name: entry["value"] for name, entry in variables.items() if "value" in entry}
            service_settings = load_settings(ServiceSettings, "", literal)  # raises on an invalid value
            kafka = load_settings(KafkaSettings, "KAFKA_", literal)
            assert load_clinic_time(literal).clinic_timezone, "the clinic's zone is required (KETALINK_CLINIC_TIMEZONE)"
            assert not service_settings.run_worker, "web and worker run as separate Deployments"
            assert service_settings.http_port == layout.HTTP_PORT
            assert kafka.session_timeout_ms >= 6000, "Apache Kafka refuses group sessions under 6000 ms"
            # SMART Backend Services for the service's own EHR reads: the key file is the Secret mounted read-only
            assert literal["EHR_BACKEND_AUTH"] == "private_key_jwt"
            assert literal["EHR_BACKEND_PRIVATE_KEY_FILE"].startswith(layout.EHR_BACKEND_KEY_DIR + "/")
            assert {"name": "ehr-backend", "mountPath": layout.EHR_BACKEND_KEY_DIR,
                    "readOnly": True} in container["volumeMounts"]
            for secret_backed in ("DATABASE_URL", "SMART_CLIENT_ID", "SMART_CLIENT_SECRET", "EHR_BACKEND_CLIENT_ID"):
                assert "secretKeyRef" in variables[secret_backed].get("valueFrom", {}), secret_backed


def check_clinic_settings(service: str, values: dict[str, str]) -> None:
    """An overlay may override a clinic setting: it must be a field of the service's settings, with a valid value."""
    if not values:
        return
    module = __import__(f"services.{service}.domain.settings", fromlist=["*"])
    classes = [cls for cls in vars(module).values()
               if dataclasses.is_dataclass(cls) and isinstance(cls, type) and cls.__module__ == module.__name__]
    prefix = f"{service.upper()}_"
    fields = {f"{prefix}{field.name.upper()}" for cls in classes for field in dataclasses.fields(cls)}
    assert set(values) <= fields, f"not clinic settings of {service}: {sorted(set(values) - fields)}"
    for cls in classes:
        if {f"{prefix}{field.name.upper()}" for field in dataclasses.fields(cls)} & set(values):
            load_settings(cls, prefix, values)
