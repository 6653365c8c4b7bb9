"""The container image: the Dockerfile (hadolint and the issue's rules), what the image installs (every module the
services import, all pinned), and the processes it runs, started for real here: gunicorn with the image's settings,
the worker wrapper's health and metrics port, and the HEALTHCHECK script."""
from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from deploy.local.ports import free_port
from deploy.render import layout, workloads
from tests.deploy.support import run

DOCKER_DIR = layout.ROOT / "deploy" / "docker"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
IMAGE_REQUIREMENTS = DOCKER_DIR / "requirements-image.txt"
FIRST_PARTY = {"shared", "services", "deploy", "ketalink_worker", "gunicorn_conf", "tests"}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            joined.append(current)
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in joined]


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(path):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_hadolint_finds_nothing(hadolint: Path):
    run([hadolint, "--no-color", "--failure-threshold", "info", DOCKERFILE])


def test_dockerfile_follows_the_image_rules():
    parsed = stages(DOCKERFILE)
    assert len(parsed) >= 2, "multi-stage: build, then a runtime stage without build tools"
    args = dict(arg.split("=", 1) for name, arg in instructions(DOCKERFILE) if name == "ARG" and "=" in arg)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), \
        f"{base}: a slim Python 3.11 base pinned to a patch release"
    runtime = parsed[-1]
    runs = " ".join(text for name, text in runtime if name == "RUN")
    assert not re.search(r"apt-get|apk |pip install|gcc|build-essential|make ", runs), \
        "the runtime stage installs nothing; it copies the built virtualenv"
    copies = [text for name, text in runtime if name == "COPY"]
    assert copies and all(text.startswith("--from=build ") for text in copies)
    users = [text for name, text in runtime if name == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), "a numeric non-root USER, last"
    assert users[-1].split(":")[0] == str(layout.RUN_AS_ID), "the manifests' runAsUser"
    assert any(name == "HEALTHCHECK" for name, _ in runtime)
    assert ":latest" not in DOCKERFILE.read_text()
    build_copies = " ".join(text for stage in parsed for name, text in stage if name == "COPY")
    for needed in ("gunicorn.conf.py", "ketalink_worker.py", "ketalink_replay.py", "healthcheck.py"):
        assert f"deploy/docker/{needed}" in build_copies, needed
    for service in layout.SERVICES:  # the commands the manifests run exist in the image
        for component in (layout.WEB, layout.WORKER):
            command = workloads.command(service, component)
            assert command[0] in ("gunicorn", "python")
            assert "/app/gunicorn.conf.py" in command or "ketalink_worker" in command


def requirement_lines(path: Path) -> list[Requirement]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def constraint_pins() -> dict[str, str]:
    return {canonicalize_name(req.name): str(req.specifier)
            for req in requirement_lines(layout.ROOT / "constraints.txt")}


def installed_closure(roots: list[Requirement]) -> set[str]:
    """Distribution names the requirements pull in, from the metadata installed in this virtualenv."""
    seen: set[str] = set()
    pending = [(req, frozenset(req.extras)) for req in roots]
    while pending:
        req, extras = pending.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(req.name).requires or []
        except PackageNotFoundError:
            continue  # pinned in requirements-image.txt only (checked by the caller)
        for text in requires:
            child = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append((child, frozenset(child.extras)))
    return seen


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module → files importing it, over the code the image carries."""
    sources = [*(layout.ROOT / "shared").rglob("*.py"), *(layout.ROOT / "services").rglob("*.py"),
               *DOCKER_DIR.glob("*.py")]
    found: dict[str, set[str]] = {}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY and top != "__future__":
                    found.setdefault(top, set()).add(str(path.relative_to(layout.ROOT)))
    return found


def test_image_requirements_are_pinned():
    pins = constraint_pins()
    for req in requirement_lines(IMAGE_REQUIREMENTS):
        name = canonicalize_name(req.name)
        exact = str(req.specifier).startswith("==")
        assert exact or name in pins, f"{req}: pin it (here or in constraints.txt)"
    closure = installed_closure(requirement_lines(IMAGE_REQUIREMENTS))
    own_pins = {canonicalize_name(req.name) for req in requirement_lines(IMAGE_REQUIREMENTS)
                if str(req.specifier).startswith("==")}
    unpinned = sorted(name for name in closure if name not in pins and name not in own_pins)
    assert not unpinned, f"installed in the image but not pinned in constraints.txt: {unpinned}"


def test_image_provides_every_module_the_services_import():
    providers = packages_distributions()
    closure = installed_closure(requirement_lines(IMAGE_REQUIREMENTS))
    missing = {}
    for module, importers in third_party_imports().items():
        dists = {canonicalize_name(dist) for dist in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(importers)
    assert not missing, f"imported by the services but not installed in the image: {missing}"


# --- processes the image runs -----------------------------------------------------------------------------------


def wait_for(url: str, status: int = 200, timeout_s: float = 20) -> requests.Response:
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=1)
            if response.status_code == status:
                return response
            last = response.status_code
        except requests.RequestException as error:
            last = error
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} in {timeout_s} s (last: {last})")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 30) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("did not stop on SIGTERM") from None


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    base = {key: value for key, value in os.environ.items() if not key.startswith(("KAFKA_", "HTTP_"))}
    return subprocess.Popen(command, env={**base, **env}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_gunicorn_serves_the_app_with_the_image_settings(tmp_path: Path):
    """The image's gunicorn.conf.py with a Flask app wired by shared.web, HOME unwritable (as in the pod): it
    binds HTTP_HOST:HTTP_PORT, answers /healthz and /metrics, and stops cleanly on SIGTERM."""
    (tmp_path / "stub_app.py").write_text(
        "from flask import Flask\nfrom shared.web import install\napp = Flask('stub')\ninstall(app, {})\n")
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = start([str(gunicorn), "--config", str(DOCKER_DIR / "gunicorn.conf.py"), "stub_app:app"],
                    {"HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "HOME": "/nonexistent",
                     "PYTHONPATH": f"{tmp_path}{os.pathsep}{layout.ROOT}"}, tmp_path)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        assert "ketalink_http_requests_total" in wait_for(f"http://127.0.0.1:{port}/metrics").text
    finally:
        code = stop(process)
        output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, output


def test_worker_wrapper_reports_health_and_metrics(tmp_path: Path):
    """ketalink_worker runs a worker module as `python -m` would and serves /healthz (its threads alive) and
    /metrics; a worker thread that dies turns /healthz to 503."""
    stop_file = tmp_path / "stop-consumer"
    (tmp_path / "fake_worker.py").write_text(
        "import os, signal, threading, time\n"
        "if __name__ == '__main__':\n"
        "    stopped = threading.Event()\n"
        "    def consume():\n"
        "        while not os.path.exists(os.environ['STOP_FILE']): time.sleep(0.05)\n"
        "    threading.Thread(target=stopped.wait, name='outbox-relay', daemon=True).start()\n"
        "    threading.Thread(target=consume, name='fake-consumer', daemon=True).start()\n"
        "    signal.signal(signal.SIGTERM, lambda *_: stopped.set())\n"
        "    stopped.wait()\n")
    port = free_port()
    process = start([sys.executable, "-m", "ketalink_worker", "fake_worker"],
                    {"WORKER_METRICS_PORT": str(port), "STOP_FILE": str(stop_file),
                     "PYTHONPATH": f"{DOCKER_DIR}{os.pathsep}{tmp_path}{os.pathsep}{layout.ROOT}"}, tmp_path)
    try:
        assert wait_for(f"http://127.0.0.1:{port}/healthz").text == "ok"
        assert wait_for(f"http://127.0.0.1:{port}/readyz").text == "ok"
        assert "python_info" in wait_for(f"http://127.0.0.1:{port}/metrics").text
        probe = [sys.executable, str(DOCKER_DIR / "healthcheck.py")]
        assert subprocess.run(probe, env={"WORKER_METRICS_PORT": str(port)}, timeout=10).returncode == 0
        stop_file.touch()
        assert "fake-consumer" in wait_for(f"http://127.0.0.1:{port}/healthz", status=503).text
        assert subprocess.run(probe, env={"WORKER_METRICS_PORT": str(port)}, timeout=10,
                              capture_output=True).returncode == 1
    finally:
        code = stop(process)
    assert code == 0


def test_healthcheck_fails_when_nothing_listens():
    result = subprocess.run([sys.executable, str(DOCKER_DIR / "healthcheck.py"), str(free_port())],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 1 and "unhealthy" in result.stderr


@pytest.mark.parametrize("service", layout.SERVICES)
def test_every_service_has_the_modules_the_image_runs(service: str):
    for module in ("wsgi", "worker"):
        assert (layout.ROOT / "services" / service / f"{module}.py").exists(), f"services/{service}/{module}.py"
