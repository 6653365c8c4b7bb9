"""Fixtures for the deployment checks: the pinned tools (installed on first use under var/tools) and every kustomize
overlay rendered once per session. A tool that cannot be installed fails the tests that need it, with the reason."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from deploy.render import layout, schemas, tools
from tests.deploy.support import Obj, run


def _tool(get: Callable[[], Path]) -> Path:
    try:
        return get()
    except tools.ToolError as error:
        pytest.fail(f"deploy tool unavailable: {error}", pytrace=False)


@pytest.fixture(scope="session")
def kubectl() -> Path:
    return _tool(tools.kubectl)


@pytest.fixture(scope="session")
def hadolint() -> Path:
    return _tool(tools.hadolint)


@pytest.fixture(scope="session")
def validator_python() -> Path:
    return _tool(tools.validator_python)


@pytest.fixture(scope="session")
def composecheck() -> Path:
    return _tool(tools.composecheck)


@pytest.fixture(scope="session")
def kubeconform() -> Path:
    return _tool(tools.kubeconform)


@pytest.fixture(scope="session")
def helm() -> Path:
    return _tool(tools.helm)


@pytest.fixture(scope="session")
def schema_dir(validator_python: Path) -> Path:
    """The upstream JSON schemas (Kubernetes and the operators' CRDs), built once under var/tools/schemas."""
    return _tool(schemas.ensure)


@pytest.fixture(scope="session")
def rendered(kubectl: Path) -> dict[str, list[Obj]]:
    """overlay name → the objects `kubectl kustomize deploy/k8s/overlays/<name>` prints."""
    result = {}
    for overlay in layout.OVERLAYS:
        text = run([kubectl, "kustomize", layout.K8S_DIR / "overlays" / overlay])
        result[overlay] = [doc for doc in yaml.safe_load_all(text) if doc]
    return result


@pytest.fixture(scope="session")
def compose_project(composecheck: Path) -> Obj:
    """deploy/compose/docker-compose.yml as compose-go resolves it (env files merged into `environment`)."""
    return json.loads(run([composecheck, layout.ROOT / "deploy" / "compose" / "docker-compose.yml"]))
