"""The Helm chart deploy/helm/ketalink: `helm lint --strict`, `helm template` valid under kubeconform with the
upstream schemas, the same objects as the kustomize prod overlay for equivalent values (field for field, after the
names kustomize hashes and the tools' own annotations are set aside), its toggles, its values schema, and the
`helm test` hook's readiness check run for real against local HTTP servers."""
from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.render import chart, kafka, layout, validate
from tests.deploy import k8s
from tests.deploy.support import Obj, run
from tests.deploy.test_manifests import site_env

OVERLAY_DIR = layout.K8S_DIR / "overlays" / "prod"
HOOK_TEST_OBJECTS = {("Pod", "ketalink-test-readyz"), ("NetworkPolicy", "ketalink-test-egress"),
                     ("NetworkPolicy", "ketalink-test-ingress")}


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def prod_values() -> Obj:
    """Helm values saying what the prod overlay says (its env files, images and site values)."""
    kustomization = yaml.safe_load((OVERLAY_DIR / "kustomization.yaml").read_text())
    images = {entry["name"].rsplit("/", 1)[1]: entry for entry in kustomization["images"]}
    site = site_env("prod")
    config = {**env_file(layout.BASE_DIR / "config" / "ketalink.env"), **env_file(OVERLAY_DIR / "config" / "ketalink.env")}
    return {
        "image": {"repository": images[layout.SERVICES[0]]["newName"].rsplit("/", 1)[0],
                  "digests": {service: images[service]["digest"] for service in layout.SERVICES}},
        "config": config,
        "services": {service: {"publicBaseUrl": env_file(OVERLAY_DIR / "config" / f"{service}.env")["PUBLIC_BASE_URL"]}
                     for service in layout.SERVICES},
        "site": {"databaseCidr": site["DATABASE_CIDR"], "ehrCidr": site["EHR_CIDR"]},
        "gateway": {"enabled": True, "name": site["GATEWAY_NAME"], "namespace": site["GATEWAY_NAMESPACE"]},
        "ingress": {"enabled": False},
        "serviceMonitor": {"labels": {layout.PROMETHEUS_RELEASE_LABEL: site["PROMETHEUS_RELEASE"]}},
        "strimzi": {"minInSyncReplicas": kafka.MIN_IN_SYNC_REPLICAS},
    }


def template(helm: Path, values: Obj, tmp_path: Path, *extra: str, check: bool = True) -> Any:
    values_file = tmp_path / f"values-{abs(hash(repr(values) + repr(extra)))}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    command = [str(helm), "template", "ketalink", str(chart.CHART_DIR), "--namespace", "ketalink",
               "-f", str(values_file), *extra]
    if not check:
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return [doc for doc in yaml.safe_load_all(run(command)) if doc]


@pytest.fixture(scope="module")
def helm_prod(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Obj]:
    return template(helm, prod_values(), tmp_path_factory.mktemp("helm"))


def test_helm_lint_strict(helm: Path, tmp_path: Path):
    values_file = tmp_path / "prod.yaml"
    values_file.write_text(yaml.safe_dump(prod_values()))
    output = run([helm, "lint", "--strict", chart.CHART_DIR, "-f", values_file])
    assert "0 chart(s) failed" in output
    # the oldest Kubernetes supported is accepted by the chart's kubeVersion, an older one refused
    run([helm, "template", "k", chart.CHART_DIR, "-f", values_file, "--kube-version", "1.31.0"])
    old = subprocess.run([str(helm), "template", "k", str(chart.CHART_DIR), "-f", str(values_file),
                          "--kube-version", "1.30.9"], capture_output=True, text=True, timeout=120, check=False)
    assert old.returncode != 0 and "kubeVersion" in old.stderr + old.stdout


@pytest.mark.parametrize("version", ["1.31.0", "1.37.0"])
def test_rendered_chart_is_valid_against_the_upstream_schemas(helm_prod: list[Obj], version: str,
                                                               kubeconform: Path, schema_dir: Path):
    assert validate.validate(helm_prod, version, kubeconform=kubeconform, schema_dir=schema_dir) == []


def _hashless(name: str, generated: set[str]) -> str:
    base = name.rsplit("-", 1)[0]
    return base if base in generated else name


def normalise(objects: list[Obj], *, kustomize: bool) -> dict[tuple[str, str], Obj]:
    """(kind, name) → object without what only one tool adds: kustomize's hashed ConfigMap names (its generators),
    namespaces, and the tools' own annotations (Helm hooks, checksums; Argo CD hooks)."""
    generated = {"ketalink-config", layout.TRACING_CONFIG_MAP, *(f"{service}-config" for service in layout.SERVICES)}
    result = {}
    for obj in objects:
        obj = yaml.safe_load(yaml.safe_dump(obj))  # a deep copy
        if obj["kind"] == "Namespace" or (obj["kind"], obj["metadata"]["name"]) in HOOK_TEST_OBJECTS:
            continue
        obj["metadata"].pop("namespace", None)
        if kustomize and obj["kind"] == "ConfigMap":
            obj["metadata"]["name"] = _hashless(obj["metadata"]["name"], generated)
        for holder in [obj["metadata"], *([k8s.pod_template(obj)["metadata"]] if obj["kind"] in
                                            k8s.WORKLOAD_KINDS else [])]:
            annotations = {key: value for key, value in (holder.get("annotations") or {}).items()
                           if not key.startswith(("helm.sh/", "checksum/", "argocd.argoproj.io/"))}
            holder.pop("annotations", None)
            if annotations:
                holder["annotations"] = annotations
        if obj["kind"] in k8s.WORKLOAD_KINDS:
            for container in k8s.containers(obj):
                for source in container.get("envFrom", []):
                    source["configMapRef"]["name"] = _hashless(source["configMapRef"]["name"], generated)
        if obj["kind"] == "ConfigMap":
            obj["metadata"].setdefault("labels", {})["app.kubernetes.io/part-of"] = layout.PART_OF
        result[(obj["kind"], obj["metadata"]["name"])] = obj
    return result


def test_chart_and_kustomize_give_the_same_objects(helm_prod: list[Obj], rendered: dict[str, list[Obj]]):
    from_helm = normalise(helm_prod, kustomize=False)
    from_kustomize = normalise(rendered["prod"], kustomize=True)
    assert sorted(from_helm) == sorted(from_kustomize)
    different = [key for key in from_helm if from_helm[key] != from_kustomize[key]]
    assert not different, f"{different[0]}:\nhelm: {from_helm[different[0]]}\nkustomize: {from_kustomize[different[0]]}"
    assert len(from_helm) > 60


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook(helm_prod: list[Obj]):
    for service in layout.SERVICES:
        job = k8s.named(helm_prod, "Job", f"{service}-{layout.MIGRATE}")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        # before anything else of a first install exists: no ConfigMap, the default ServiceAccount
        spec = job["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == "default" and spec["automountServiceAccountToken"] is False
        assert all("envFrom" not in container for container in spec["containers"])


def test_toggles(helm: Path, tmp_path: Path):
    values = prod_values()
    values.update(networkPolicy={"enabled": False}, serviceMonitor={"enabled": False}, migrations={"enabled": False},
                  strimzi={"enabled": False}, prune={"enabled": False},
                  gateway={"enabled": False}, ingress={"enabled": True, "annotations": {
                      "example.org/x": "on-purpose", "nginx.ingress.kubernetes.io/proxy-body-size": "2m"}})
    objects = template(helm, values, tmp_path)
    kinds = {obj["kind"] for obj in objects}
    assert not kinds & {"NetworkPolicy", "ServiceMonitor", "Job", "KafkaTopic", "KafkaUser", "HTTPRoute"}
    assert not [obj for obj in k8s.of_kind(objects, "CronJob") if obj["metadata"]["name"].endswith("-prune")]
    (ingress,) = k8s.of_kind(objects, "Ingress")
    assert ingress["metadata"]["annotations"]["example.org/x"] == "on-purpose"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "2m"  # site's wins
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == {
        url.removeprefix("https://") for url in (values["services"][s]["publicBaseUrl"] for s in layout.SERVICES)}
    with_policies = template(helm, {**values, "networkPolicy": {"enabled": True}}, tmp_path)
    names = {obj["metadata"]["name"] for obj in k8s.of_kind(with_policies, "NetworkPolicy")}
    assert "ketalink-ingress-web-ingress" in names and "ketalink-ingress-web-gateway" not in names


def test_images_by_tag_unless_a_digest_is_given(helm: Path, tmp_path: Path):
    values = prod_values()
    values["image"] = {"repository": "registry.example.org/ketalink", "tag": "0.1.0"}
    objects = template(helm, values, tmp_path)
    images = {container["image"] for _, container in k8s.all_containers(objects)}
    assert images == {f"registry.example.org/ketalink/{service}:0.1.0" for service in layout.SERVICES}


@pytest.mark.parametrize(("change", "complaint"), [
    (lambda v: v["config"].pop("KETALINK_CLINIC_TIMEZONE"), "KETALINK_CLINIC_TIMEZONE"),
    (lambda v: v["image"]["digests"].update(intake="sha256:abc"), "digests"),
    (lambda v: v["image"].update(tag="latest"), "tag"),
    (lambda v: v["services"]["orders"].update(publicBaseUrl="http://orders.example.org"), "publicBaseUrl"),
    (lambda v: v["services"]["orders"].update(config={"INTAKE_SOMETHING": "1"}), "INTAKE_SOMETHING"),
    (lambda v: v["existingSecrets"].update(intake={"database": "Not_A_Name"}), "Not_A_Name"),
    (lambda v: v.update(unknownKey=True), "unknownKey"),
])
def test_values_schema_refuses_bad_values(helm: Path, tmp_path: Path, change: Any, complaint: str):
    values = prod_values()
    values["existingSecrets"] = {}
    change(values)
    if not values["existingSecrets"]:
        del values["existingSecrets"]
    result = template(helm, values, tmp_path, check=False)
    assert result.returncode != 0 and complaint in result.stderr, result.stderr[-2000:]


class _Readyz(http.server.BaseHTTPRequestHandler):
    ready: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802 - the http.server interface
        service = self.path.strip("/").split("/")[0]
        self.send_response(200 if service in self.ready else 503)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def readyz_server() -> Iterator[tuple[str, type[_Readyz]]]:
    handler = type("Handler", (_Readyz,), {"ready": set()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{service}}/readyz", handler
    finally:
        server.shutdown()


def test_helm_test_hook_checks_every_service_readyz(helm_prod: list[Obj], readyz_server: tuple[str, Any]):
    """The hook pod's own command, run here: it passes when every service answers /readyz, and fails naming the
    one that does not."""
    pod = k8s.named(helm_prod, "Pod", "ketalink-test-readyz")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["python", "-c"] and command[3:] == list(layout.SERVICES)
    url, handler = readyz_server
    env = {"READYZ_URL": url, "READYZ_DEADLINE_S": "3", "PATH": "/usr/bin:/bin"}
    handler.ready = set(layout.SERVICES[:-1])
    failing = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, env=env, timeout=60)
    assert failing.returncode != 0 and f"not ready: {layout.SERVICES[-1]}" in failing.stderr
    handler.ready = set(layout.SERVICES)
    passing = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, env=env, timeout=60)
    assert passing.returncode == 0, passing.stdout + passing.stderr


def test_defaults_are_production_values(helm: Path, tmp_path: Path):
    """Only the site's own values need setting: the chart's defaults give what the prod overlay's base gives (topics
    on 3 replicas, min.insync.replicas 2, the services told the same), and an install without the clinic's time zone
    is refused."""
    objects = template(helm, {"config": {"KETALINK_CLINIC_TIMEZONE": "America/Chicago"}}, tmp_path)
    config = k8s.config_map(objects, "ketalink-config")
    for topic in k8s.of_kind(objects, "KafkaTopic"):
        assert topic["spec"]["replicas"] == int(config["KAFKA_TOPIC_REPLICATION_FACTOR"]) == kafka.REPLICAS
        assert topic["spec"]["partitions"] == int(config["KAFKA_TOPIC_PARTITIONS"])
        assert topic["spec"]["config"]["min.insync.replicas"] == kafka.MIN_IN_SYNC_REPLICAS
    refused = template(helm, {}, tmp_path, check=False)
    assert refused.returncode != 0 and "KETALINK_CLINIC_TIMEZONE" in refused.stderr


def test_install_dry_run_orders_the_migrations_first_and_prints_the_notes(helm: Path, tmp_path: Path):
    """`helm install --dry-run=client` (no cluster): the migrations Jobs are hooks (run before the release's
    objects), and the notes name each service's URL and the checks to run."""
    values_file = tmp_path / "prod.yaml"
    values_file.write_text(yaml.safe_dump(prod_values()))
    output = run([helm, "install", "ketalink", chart.CHART_DIR, "--dry-run=client", "-n", "ketalink", "-f", values_file])
    hooks, _, rest = output.partition("MANIFEST:")
    for service in layout.SERVICES:
        assert f"name: {service}-{layout.MIGRATE}" in hooks and f"name: {service}-{layout.MIGRATE}" not in rest
        assert prod_values()["services"][service]["publicBaseUrl"] in rest.partition("NOTES:")[2]
    assert "helm test ketalink -n ketalink" in output
