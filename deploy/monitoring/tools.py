"""Prometheus's own ``promtool``, built on first use under var/tools/bin/ from the Go module proxy, to check the alert
rules (``promtool check rules``) and run their unit tests (``promtool test rules``).

The version is pinned by deploy/monitoring/promtool/go.mod and go.sum (github.com/prometheus/prometheus, as a Go
``tool`` dependency); the binary is rebuilt when those change (a stamp holds their hash), like composecheck in
deploy/render/tools.py. The first build compiles Prometheus's dependencies and takes minutes (longer on a busy
machine); after that it is cached. ``python -m deploy.monitoring.tools`` builds it and prints the path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from deploy.render.tools import BIN, ROOT, ToolError

SOURCE = Path(__file__).resolve().parent / "promtool"
PACKAGE = "github.com/prometheus/prometheus/cmd/promtool"
BUILD_TIMEOUT_S = 3600  # a cold build on two busy cores
# Prometheus's own build tag that leaves out every service-discovery plugin (AWS, Azure, GCE, Kubernetes, ...): the
# rule checks need none, and without them a cold build takes about 200 s of CPU instead of about 470 s.
BUILD_TAGS = "remove_all_sd"


def _digest(*paths: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def promtool() -> Path:
    """The pinned promtool, built with ``go build`` when missing or when go.mod/go.sum changed."""
    binary = BIN / "promtool"
    stamp = BIN / ".promtool-stamp"
    wanted = _digest(SOURCE / "go.mod", SOURCE / "go.sum") + f" tags={BUILD_TAGS}"
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    go = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)
    if go is None:
        raise ToolError("the Go toolchain (`go`) is not installed; it builds promtool (Prometheus, from the Go module "
                        "proxy) for the alert rule checks")
    BIN.mkdir(parents=True, exist_ok=True)
    partial = BIN / "promtool.partial"
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    try:
        result = subprocess.run([go, "build", "-trimpath", "-tags", BUILD_TAGS, "-o", str(partial), PACKAGE], cwd=SOURCE, env=env,
                                capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolError(f"go build {PACKAGE}: {error}") from None
    if result.returncode != 0:
        raise ToolError(f"go build {PACKAGE} failed (exit {result.returncode}; needs the Go module proxy):\n"
                        f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    partial.replace(binary)  # a build cut short never leaves a binary that looks finished
    stamp.write_text(wanted)
    return binary


def plain_rules(prometheus_rule: Path, target: Path) -> Path:
    """The PrometheusRule's ``spec`` (its ``groups``) as the plain rule file promtool reads."""
    rule = yaml.safe_load(prometheus_rule.read_text())
    if rule.get("apiVersion") != "monitoring.coreos.com/v1" or rule.get("kind") != "PrometheusRule":
        raise ValueError(f"{prometheus_rule}: not a monitoring.coreos.com/v1 PrometheusRule")
    target.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    return target


if __name__ == "__main__":
    try:
        print(promtool().relative_to(ROOT))
    except ToolError as error:
        sys.exit(f"promtool: {error}")
