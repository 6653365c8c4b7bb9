"""Helpers for the deploy tests: the object type and running a tool with a clear failure."""
from __future__ import annotations

import subprocess
from typing import Any

import pytest

from deploy.render import layout

Obj = dict[str, Any]


def run(command: list[Any], *, stdin: str | None = None, timeout_s: float = 120) -> str:
    result = subprocess.run([str(part) for part in command], input=stdin, capture_output=True, text=True,
                            timeout=timeout_s, cwd=layout.ROOT)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stderr}{result.stdout}",
                    pytrace=False)
    return result.stdout


def render_overlay_with(kubectl: Any, workdir: Any, overlay: str, *, components: list[str],
                        generators: list[Obj] | None = None, site: dict[str, str] | None = None) -> list[Obj]:
    """`kubectl kustomize` of a copy of deploy/k8s (under ``workdir``) whose ``overlay`` also takes ``components``
    (names under deploy/k8s/components), its own ``generators`` and ``site`` values, as a site would edit it."""
    import shutil
    from pathlib import Path

    import yaml

    root = Path(workdir) / "k8s"
    shutil.copytree(layout.K8S_DIR, root)
    directory = root / "overlays" / overlay
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    kustomization["components"] += [f"../../components/{name}" for name in components]
    kustomization["configMapGenerator"] += generators or []
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    with (directory / "config" / "site.env").open("a") as site_file:
        site_file.writelines(f"{key}={value}\n" for key, value in (site or {}).items())
    return [doc for doc in yaml.safe_load_all(run([kubectl, "kustomize", directory])) if doc]
