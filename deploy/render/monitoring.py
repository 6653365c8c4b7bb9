"""Helper D's alert rules and Grafana dashboard (deploy/monitoring/, validated there with promtool) wired into the
manifests: the PrometheusRule with the labels kube-prometheus-stack selects, the dashboard as a ConfigMap that
Grafana's dashboard sidecar loads (label ``grafana_dashboard``). Kustomize reads no file outside its root, so both are
copied into deploy/k8s/base/monitoring/ by the generator (and checked like every generated file)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from deploy.render import layout

SOURCE_DIR = layout.ROOT / "deploy" / "monitoring"
RULES = "prometheus-rules.yaml"
DASHBOARD = "grafana-dashboard.json"
DASHBOARD_CONFIG_MAP = "ketalink-grafana-dashboard"
DASHBOARD_LABEL = {"grafana_dashboard": "1"}  # the sidecar's default label (kube-prometheus-stack's Grafana)


def rules_source() -> Path | None:
    path = SOURCE_DIR / RULES
    return path if path.exists() else None


def dashboard_source() -> Path | None:
    path = SOURCE_DIR / DASHBOARD
    return path if path.exists() else None


def selected_kinds() -> list[str]:
    """The kinds Prometheus selects by its release label (present in the manifests)."""
    return ["ServiceMonitor"] + (["PrometheusRule"] if rules_source() else [])


def prometheus_rule() -> dict[str, Any]:
    source = rules_source()
    assert source is not None
    rule = yaml.safe_load(source.read_text())
    if rule.get("kind") != "PrometheusRule":
        raise ValueError(f"{source}: expected one PrometheusRule, found kind {rule.get('kind')!r}")
    metadata = rule.setdefault("metadata", {})
    metadata.pop("namespace", None)  # the overlay's namespace
    metadata["labels"] = {**metadata.get("labels", {}), "app.kubernetes.io/part-of": layout.PART_OF,
                          layout.PROMETHEUS_RELEASE_LABEL: layout.PROMETHEUS_RELEASE}
    return rule


def dashboard_generator() -> dict[str, Any]:
    return {"name": DASHBOARD_CONFIG_MAP, "files": [f"monitoring/{DASHBOARD}"],
            "options": {"labels": {**DASHBOARD_LABEL, "app.kubernetes.io/part-of": layout.PART_OF},
                        "disableNameSuffixHash": True}}


def generated_files(directory: Path) -> dict[Path, str]:
    from deploy.render.files import dump  # files imports this module

    result: dict[Path, str] = {}
    if rules_source() is not None:
        result[directory / RULES] = dump([prometheus_rule()])
    source = dashboard_source()
    if source is not None:
        result[directory / DASHBOARD] = source.read_text()
    return result
