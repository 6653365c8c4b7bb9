"""/metrics under a real gunicorn with two workers and the image's settings (deploy/docker/gunicorn.conf.py): every
scrape sums both workers' counters (it used to show one worker's per scrape: 29, 11, 29), and the counts of a worker
that exits stay in the sum after gunicorn replaces it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from deploy.local.ports import free_port
from deploy.render import layout

GUNICORN_CONF = layout.ROOT / "deploy" / "docker" / "gunicorn.conf.py"
STUB_APP = """
import os
from flask import Flask, jsonify
from shared.web import install
app = Flask("stub")
install(app, {})
app.add_url_rule("/pid", "pid", lambda: jsonify(pid=os.getpid()))
"""
DEADLINE_S = 60.0


def healthz_count(base_url: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(r'^ketalink_http_requests_total\{route="/healthz",status="200"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def pids_serving(base_url: str, wanted: int) -> set[int]:
    """Ask on new connections until ``wanted`` different workers answered (the kernel picks the worker)."""
    seen: set[int] = set()
    deadline = time.monotonic() + DEADLINE_S
    while len(seen) < wanted and time.monotonic() < deadline:
        seen.add(requests.get(f"{base_url}/pid", timeout=10, headers={"Connection": "close"}).json()["pid"])
    return seen


def wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else "gunicorn exited"
        try:
            if requests.get(f"{base_url}/pid", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not answer")


def test_metrics_sum_every_gunicorn_worker_and_keep_an_exited_workers_counts(tmp_path: Path):
    (tmp_path / "stub_app.py").write_text(STUB_APP)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("KAFKA_", "HTTP_", "PROMETHEUS_MULTIPROC"))}
    env |= {"HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "WEB_CONCURRENCY": "2", "HOME": "/nonexistent",
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{layout.ROOT}"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "--config", str(GUNICORN_CONF), "stub_app:app"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_up(base_url, process)
        workers = pids_serving(base_url, 2)
        assert len(workers) == 2, f"only {workers} answered"
        for _ in range(40):
            requests.get(f"{base_url}/healthz", timeout=10, headers={"Connection": "close"})
        scrapes = [healthz_count(base_url) for _ in range(10)]
        assert scrapes == [40.0] * 10, scrapes  # whichever worker answers the scrape

        exiting = sorted(workers)[0]
        os.kill(exiting, signal.SIGTERM)  # gunicorn replaces it; its counts must stay in the sum
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline and exiting in pids_serving(base_url, 2):
            time.sleep(0.5)
        for _ in range(5):
            requests.get(f"{base_url}/healthz", timeout=10, headers={"Connection": "close"})
        assert [healthz_count(base_url) for _ in range(5)] == [45.0] * 5
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = None
        output = process.stdout.read().decode() if process.stdout else ""
    assert code == 0, output
