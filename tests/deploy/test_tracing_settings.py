"""Tracing in the deployment: the OTEL_* variables shared/tracing.py and the OpenTelemetry SDK read reach every web
and worker container (ConfigMap ketalink-tracing), off by default; turned on (kustomize components/tracing with the
overlay's own values, or the chart's `tracing` values) they give an exporter, endpoint and sampler the SDK builds,
and an egress policy to the site's collector, and the chart's schema refuses values the services would not take."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from deploy.render import layout, network, validate
from shared.config import load_settings
from shared.tracing import TracingSettings
from tests.deploy import k8s
from tests.deploy.support import Obj, render_overlay_with
from tests.deploy.test_helm_chart import normalise, prod_values, template

ENDPOINT = "https://otel-gateway.hospital.example.org:4318"
SITE = {"TRACING_COLLECTOR_NAMESPACE": "otel-system", "TRACING_COLLECTOR_NAME": "hospital-collector"}
TRACING_ON = {"exporter": "otlp", "otlpEndpoint": ENDPOINT, "sampler": "parentbased_traceidratio",
              "samplerArg": "0.25", "collector": {"namespace": "otel-system",
                                                  "podLabels": {"app.kubernetes.io/name": "hospital-collector"},
                                                  "port": layout.OTLP_HTTP_PORT}}


@pytest.fixture(scope="module")
def kustomize_tracing(kubectl: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    """The prod overlay as a site turns tracing on: the component, its endpoint and ratio, its collector."""
    overlay_values = {"name": layout.TRACING_CONFIG_MAP, "behavior": "merge", "literals": [
        f"OTEL_EXPORTER_OTLP_ENDPOINT={ENDPOINT}", "OTEL_TRACES_SAMPLER_ARG=0.25"]}
    return render_overlay_with(kubectl, tmp_path_factory.mktemp("tracing"), "prod", components=["tracing"],
                               generators=[overlay_values], site=SITE)


@pytest.fixture(scope="module")
def helm_tracing(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return template(helm, {**prod_values(), "tracing": TRACING_ON}, tmp_path_factory.mktemp("helm-tracing"))


def _pod_environments(objects: list[Obj]) -> dict[str, dict[str, str]]:
    """web/worker Deployment name → the literal variables its container gets."""
    result = {}
    for deployment, container in k8s.all_containers(objects, ("Deployment",)):
        variables = k8s.container_environment(objects, container)
        result[deployment["metadata"]["name"]] = {name: entry["value"] for name, entry in variables.items()
                                                  if "value" in entry}
    assert len(result) == 2 * len(layout.SERVICES)
    return result


def _tracer_provider(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> TracerProvider:
    """The SDK's own reading of a pod's OTEL_* variables (the sampler comes from the environment)."""
    for name, value in environment.items():
        if name.startswith("OTEL_"):
            monkeypatch.setenv(name, value)
    return TracerProvider()


def _policy_to_collector(objects: list[Obj]) -> Obj:
    return k8s.named(objects, "NetworkPolicy", network.TRACING_POLICY)


def test_tracing_is_off_by_default(rendered: dict[str, list[Obj]], helm: Path, tmp_path: Path):
    defaults = template(helm, {"config": {"KETALINK_CLINIC_TIMEZONE": "America/Chicago"}}, tmp_path)
    for objects in (*rendered.values(), defaults):
        for name, environment in _pod_environments(objects).items():
            settings = load_settings(TracingSettings, "OTEL_", environment)
            assert environment["OTEL_TRACES_EXPORTER"] == "none" and not settings.enabled, name
        assert network.TRACING_POLICY not in {p["metadata"]["name"] for p in k8s.of_kind(objects, "NetworkPolicy")}


@pytest.mark.parametrize("tool", ["kustomize", "helm"])
def test_tracing_values_reach_every_web_and_worker_pod(tool: str, kustomize_tracing: list[Obj],
                                                       helm_tracing: list[Obj], monkeypatch: pytest.MonkeyPatch):
    objects = kustomize_tracing if tool == "kustomize" else helm_tracing
    for name, environment in _pod_environments(objects).items():
        settings = load_settings(TracingSettings, "OTEL_", environment)  # what the service validates at start
        assert settings.enabled and settings.traces_exporter == ("otlp",), name
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == ENDPOINT, name
        with monkeypatch.context() as patch:
            sampler = _tracer_provider(environment, patch).sampler.get_description()
        assert sampler.startswith("ParentBased{root:TraceIdRatioBased{0.25}"), f"{name}: {sampler}"
    # The Jobs (migrations, prune, replay) get no tracing: no egress to the collector is opened for them.
    for workload, container in k8s.all_containers(objects, ("Job", "CronJob")):
        assert layout.TRACING_CONFIG_MAP not in str(container.get("envFrom", [])), workload["metadata"]["name"]


@pytest.mark.parametrize("tool", ["kustomize", "helm"])
def test_tracing_opens_egress_to_the_collector_only(tool: str, kustomize_tracing: list[Obj], helm_tracing: list[Obj]):
    objects = kustomize_tracing if tool == "kustomize" else helm_tracing
    policy = _policy_to_collector(objects)
    (rule,) = policy["spec"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": layout.OTLP_HTTP_PORT}]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "otel-system"}},
                           "podSelector": {"matchLabels": {"app.kubernetes.io/name": "hospital-collector"}}}]
    selected = {w["metadata"]["name"] for w in k8s.workloads(objects)
                if k8s.matches(policy["spec"]["podSelector"], k8s.pod_labels(w))}
    assert selected == {f"{s}-{c}" for s in layout.SERVICES for c in (layout.WEB, layout.WORKER)}


def test_chart_and_kustomize_agree_with_tracing_on(kustomize_tracing: list[Obj], helm_tracing: list[Obj],
                                                   kubeconform: Path, schema_dir: Path):
    from_helm, from_kustomize = normalise(helm_tracing, kustomize=False), normalise(kustomize_tracing, kustomize=True)
    assert sorted(from_helm) == sorted(from_kustomize)
    different = [key for key in from_helm if from_helm[key] != from_kustomize[key]]
    assert not different, f"{different[0]}:\nhelm: {from_helm[different[0]]}\nkustomize: {from_kustomize[different[0]]}"
    assert validate.validate(kustomize_tracing, "1.31.0", kubeconform=kubeconform, schema_dir=schema_dir) == []


@pytest.mark.parametrize(("change", "complaint"), [
    ({"exporter": "jaeger"}, "exporter"),
    ({"exporter": "console"}, "exporter"),  # spans on stdout: for a one-off look, not a deployment
    ({"otlpEndpoint": "otel-collector:4318"}, "otlpEndpoint"),
    ({"sampler": "probabilistic"}, "sampler"),
    ({"samplerArg": "1.5"}, "samplerArg"),
    ({"samplerArg": "ten percent"}, "samplerArg"),
    # the collector's labels removed (null deletes a default in Helm): every pod of the namespace would do
    ({"collector": {"namespace": "otel", "podLabels": {"app.kubernetes.io/name": None}, "port": 4318}}, "podLabels"),
    ({"collector": {"namespace": "otel", "podLabels": {"a": "b"}, "port": 0}}, "port"),
    ({"headers": "authorization=secret"}, "headers"),
])
def test_values_schema_refuses_bad_tracing_values(helm: Path, tmp_path: Path, change: dict[str, Any], complaint: str):
    result = template(helm, {**prod_values(), "tracing": {**TRACING_ON, **change}}, tmp_path, check=False)
    assert result.returncode != 0 and complaint in result.stderr, result.stderr[-2000:]
