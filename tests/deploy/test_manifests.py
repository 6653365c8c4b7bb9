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
import yaml

from deploy.render import files, layout, monitoring, schemas, validate
from shared.clinic_time import ClinicTimeSettings, load_clinic_time
from shared.config import load_settings
from shared.events.kafka_clients import KafkaSettings
from shared.db import MigrationSettings
from shared.roles import RoleSettings
from shared.runtime import ServiceSettings
from shared.smart.backend import BackendAuthSettings
from shared.ui.banner import BannerSettings
from shared.smart.settings import SmartSettings
from shared.tracing import TracingSettings
from tests.deploy import k8s
from tests.deploy.support import Obj

OVERLAYS = layout.OVERLAYS
# The oldest Kubernetes minor these manifests support, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = tuple(schemas.kubernetes_versions())


def test_generated_files_match_the_generator():
    stale = [str(path.relative_to(layout.ROOT)) for path in files.stale_files()]
    assert not stale, f"out of date (run `.venv/bin/python -m deploy.render` and commit): {stale}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_upstream_schemas(overlay: str, version: str, rendered: dict[str, list[Obj]],
                                                            kubeconform: Path, schema_dir: Path):
    """kubeconform -strict: the Kubernetes release's own schemas, Strimzi's v1, the Prometheus Operator's and the
    Gateway API's own CRDs. Every kind of the overlay has a schema (a missing one is a failure)."""
    objects = rendered[overlay]
    assert {"KafkaTopic", "KafkaUser", "ServiceMonitor", "Job", "CronJob"} <= {obj["kind"] for obj in objects}
    assert validate.validate(objects, version, kubeconform=kubeconform, schema_dir=schema_dir) == []


def test_the_validator_rejects_what_it_should(kubeconform: Path, schema_dir: Path):
    """Guards the check itself: the v1beta2 Strimzi objects Strimzi 1.0 no longer serves, an unknown field, a bad
    enum value in a CRD, an unknown kind, a wrong type in a cert-manager object and in a built-in kind."""
    bad = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": {"portz": []}},
        {"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaTopic",
         "metadata": {"name": "old", "labels": {"strimzi.io/cluster": "c"}}, "spec": {"partitions": 3}},
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser",
         "metadata": {"name": "b", "labels": {"strimzi.io/cluster": "c"}},
         "spec": {"authorization": {"type": "simple", "acls": [
             {"resource": {"type": "topic", "name": "t"}, "operations": ["Reed"]}]}}},
        {"apiVersion": "example.org/v1", "kind": "Unknown", "metadata": {"name": "c"}},
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",  # a custom resource's metadata is ObjectMeta
         "metadata": {"name": "meta", "labelz": {"strimzi.io/cluster": "c"}}, "spec": {"partitions": 3}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "d"},
         "spec": {"hostnames": ["d.example.org"], "rulez": []}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "e"},
         "spec": {"selector": {}, "endpoints": [{"port": "http", "scheme": "gopher"}]}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "f"},
         "spec": {"secretName": "s", "issuerRef": {"name": "i"}, "dnsNames": "one.example.org"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "g"},
         "spec": {"replicas": "two", "selector": {}, "template": {}}},
    ]
    good = [
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "ok"},
         "spec": {"secretName": "s", "issuerRef": {"name": "i", "kind": "ClusterIssuer"}, "dnsNames": ["a.example"]}},
    ]
    failures = validate.validate(bad + good, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir)
    assert sorted({failure.object for failure in failures}) == sorted(
        f"{obj['kind']}/{obj['metadata']['name']}" for obj in bad)
    reasons = {failure.object: failure.error for failure in failures}
    assert "could not find schema" in reasons["KafkaTopic/old"]  # Strimzi 1.0 serves kafka.strimzi.io/v1 only
    assert "portz" in reasons["Service/a"] and "rulez" in reasons["HTTPRoute/d"]
    assert "Reed" in reasons["KafkaUser/b"] or "must be one of" in reasons["KafkaUser/b"]
    assert "/spec/replicas" in reasons["Deployment/g"]
    assert "labelz" in reasons["KafkaTopic/meta"]


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
        """Probes on every long-running container; a Job's container runs to completion, so it has limits and a
        deadline (activeDeadlineSeconds) instead."""
        for deployment, container in k8s.all_containers(rendered[overlay]):
            where = f"{deployment['metadata']['name']}/{container['name']}"
            if deployment["kind"] in ("CronJob", "Job"):
                assert k8s.job_spec(deployment)["activeDeadlineSeconds"] > 0, where
            else:
                ports = {port["name"] for port in container.get("ports", [])}
                expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
                for probe, path in expected.items():
                    http = container.get(probe, {}).get("httpGet")
                    assert http and http["path"] == path and http["port"] in ports, f"{where}: {probe}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{where}: {kind}"

    def test_images_are_pinned_by_digest(self, overlay: str, rendered: dict[str, list[Obj]]):
        """Every image of the overlay by digest (kustomize `images:` with `digest:`), from the site's registry."""
        for deployment, container in k8s.all_containers(rendered[overlay]):
            image = container["image"]
            assert re.fullmatch(r"[a-z0-9.-]+(:\d+)?/[a-z0-9./_-]+@sha256:[0-9a-f]{64}", image), \
                f"{deployment['metadata']['name']}: {image} is not pinned by digest"
            assert not image.startswith(f"{layout.IMAGE_REPOSITORY}/"), f"{image}: the overlay names no registry"

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

    def test_each_public_base_url_is_exposed_over_tls(self, overlay: str, rendered: dict[str, list[Obj]]):
        """Exactly one exposure per overlay, each PUBLIC_BASE_URL host routed to its service's web pods, the
        operational endpoints to the sink, and the exposure's pods (and no other) let in to the web pods."""
        objects = rendered[overlay]
        ingresses, routes = k8s.of_kind(objects, "Ingress"), k8s.of_kind(objects, "HTTPRoute")
        assert bool(ingresses) != bool(routes), "an overlay chooses an Ingress or Gateway API HTTPRoutes"
        routed: dict[str, str] = {}
        for ingress in ingresses:
            tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
            for rule in ingress["spec"]["rules"]:
                assert rule["host"] in tls_hosts, f"{rule['host']}: not covered by TLS"
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]["name"]
                    if path["path"] in ("/metrics", "/readyz"):
                        assert backend == "ketalink-not-exposed" and path["pathType"] == "Exact"
                    elif path["path"] == "/":
                        routed[rule["host"]] = backend
        site = site_env(overlay)
        for route in routes:
            (parent,) = route["spec"]["parentRefs"]
            # TLS ends at the Gateway's HTTPS listener; the HTTPRoute attaches to that listener only
            assert parent["sectionName"] == layout.GATEWAY_LISTENER and parent["kind"] == "Gateway"
            assert (parent["name"], parent["namespace"]) == (site["GATEWAY_NAME"], site["GATEWAY_NAMESPACE"])
            (host,) = route["spec"]["hostnames"]
            for rule in route["spec"]["rules"]:
                (match,) = rule["matches"]
                (backend,) = rule["backendRefs"]
                if match["path"]["value"] in ("/metrics", "/readyz"):
                    assert match["path"]["type"] == "Exact" and backend["name"] == "ketalink-not-exposed"
                elif match["path"] == {"type": "PathPrefix", "value": "/"}:
                    routed[host] = backend["name"]
                    web = k8s.named(objects, "Service", backend["name"])
                    assert backend["port"] in {port["port"] for port in web["spec"]["ports"]}
        for service in layout.SERVICES:
            url = k8s.config_map_by_prefix(objects, f"{service}-config")["PUBLIC_BASE_URL"]
            assert urlsplit(url).scheme == "https", url
            assert routed.get(urlsplit(url).hostname) == f"{service}-web", f"{url} is not routed to {service}"
        edge = "ingress" if ingresses else "gateway"
        edges = {policy["metadata"]["name"] for policy in k8s.of_kind(objects, "NetworkPolicy")} & {
            "ketalink-ingress-web-ingress", "ketalink-ingress-web-gateway"}
        assert edges == {f"ketalink-ingress-web-{edge}"}
        if routes:  # the Gateway's own pods, in the Gateway's namespace
            (peer,) = k8s.named(objects, "NetworkPolicy", "ketalink-ingress-web-gateway")["spec"]["ingress"][0]["from"]
            assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": site["GATEWAY_NAMESPACE"]}
            assert peer["podSelector"]["matchLabels"] == {
                "gateway.networking.k8s.io/gateway-name": site["GATEWAY_NAME"]}

    def test_prometheus_selects_the_monitors_and_rules(self, overlay: str, rendered: dict[str, list[Obj]]):
        """kube-prometheus-stack selects ServiceMonitors and PrometheusRules by `release: <its release>`: the
        overlay's PROMETHEUS_RELEASE."""
        objects = rendered[overlay]
        selected = [obj for obj in objects if obj["kind"] in ("ServiceMonitor", "PrometheusRule")]
        assert len(k8s.of_kind(objects, "ServiceMonitor")) == len(layout.SERVICES)
        for obj in selected:
            assert obj["metadata"]["labels"][layout.PROMETHEUS_RELEASE_LABEL] == site_env(overlay)["PROMETHEUS_RELEASE"]

    def test_alert_rules_and_dashboard_are_deployed(self, overlay: str, rendered: dict[str, list[Obj]]):
        """deploy/monitoring's PrometheusRule (checked there with promtool) and Grafana dashboard, as they are."""
        objects = rendered[overlay]
        source = yaml.safe_load((monitoring.SOURCE_DIR / monitoring.RULES).read_text())
        (rule,) = k8s.of_kind(objects, "PrometheusRule")
        assert rule["metadata"]["name"] == source["metadata"]["name"] and rule["spec"] == source["spec"]
        dashboard = k8s.named(objects, "ConfigMap", monitoring.DASHBOARD_CONFIG_MAP)
        assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(dashboard["data"][monitoring.DASHBOARD]) == json.loads(
            (monitoring.SOURCE_DIR / monitoring.DASHBOARD).read_text())

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
        known |= {f"KETALINK_{field.name.upper()}" for field in dataclasses.fields(MigrationSettings)}
        known |= {f"OTEL_{field.name.upper()}" for field in dataclasses.fields(TracingSettings)}
        known |= OTEL_SDK_SETTINGS
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
            assert not load_settings(MigrationSettings, "KETALINK_", literal).migrate_on_start, \
                "the migrations Job changes the schema; the services' roles cannot"
            assert service_settings.http_port == layout.HTTP_PORT
            assert kafka.session_timeout_ms >= 6000, "Apache Kafka refuses group sessions under 6000 ms"
            assert not load_settings(TracingSettings, "OTEL_", literal).enabled, "tracing is off unless turned on"
            # SMART Backend Services for the service's own EHR reads: the key file is the Secret mounted read-only
            assert literal["EHR_BACKEND_AUTH"] == "private_key_jwt"
            assert literal["EHR_BACKEND_PRIVATE_KEY_FILE"].startswith(layout.EHR_BACKEND_KEY_DIR + "/")
            assert {"name": "ehr-backend", "mountPath": layout.EHR_BACKEND_KEY_DIR,
                    "readOnly": True} in container["volumeMounts"]
            for secret_backed in ("DATABASE_URL", "SMART_CLIENT_ID", "SMART_CLIENT_SECRET", "EHR_BACKEND_CLIENT_ID"):
                assert "secretKeyRef" in variables[secret_backed].get("valueFrom", {}), secret_backed


# Read by the OpenTelemetry SDK itself (shared/tracing.py leaves them to it).
OTEL_SDK_SETTINGS = frozenset({"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"})


def site_env(overlay: str) -> dict[str, str]:
    """The overlay's config/site.env (ConfigMap ketalink-site is local to kustomize: not in the rendered output)."""
    values = {}
    for line in (layout.K8S_DIR / "overlays" / overlay / "config" / "site.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


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
