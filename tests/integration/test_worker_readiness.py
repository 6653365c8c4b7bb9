"""A worker's /readyz (deploy/docker/ketalink_worker.py) says whether its Kafka clients do their work, on a real broker:
ready once its consumer joined, 503 within the stall threshold after the broker goes away (kafka-python's poll()
just returns nothing then, so live threads proved nothing), ready again when the broker is back; and a worker that
can never reach its broker (a wrong address here; bad credentials, a missing ACL or a wrong CA look the same to it)
is never ready, with its outbox relay named too while it has a backlog it cannot send.

Each test starts its own broker (it stops it) and the intake worker as the image runs it, with
KETALINK_WORKER_STALL_AFTER_S set to a few seconds."""
from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from deploy.local.ports import free_port
from shared.db import create_database
from shared.events.outbox import enqueue
from shared.events.topics import INTAKE_EVENTS
from shared.fhir.messaging import build_message
from tests.support.apache_kafka import apache_kafka_broker
from tests.support.processes import ROOT, ManagedProcess, base_environment, http_ok, tansu_broker

STALL_AFTER_S = 5.0
SLACK_S = 30.0  # kafka-python noticing the lost coordinator, and a loaded machine
DOCKER_DIR = ROOT / "deploy" / "docker"


@pytest.fixture
def own_broker(log_dir: Path, tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    if os.environ.get("KETALINK_TEST_BROKER") == "kafka":
        (tmp_path / "kafka").mkdir()
        process, bootstrap = apache_kafka_broker(log_dir, tmp_path / "kafka")
    else:
        process, bootstrap = tansu_broker(log_dir)
    process.name = f"readiness-broker-{uuid.uuid4().hex[:6]}"
    process.log_path = log_dir / f"{process.name}.log"
    process.start()
    yield process, bootstrap
    process.stop()


def intake_worker(log_dir: Path, data_dir: Path, bootstrap: str) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = base_environment() | {
        "PYTHONPATH": f"{DOCKER_DIR}{os.pathsep}{ROOT}", "KETALINK_LOCAL_RUN": "true", "SMART_AUTH_REQUIRED": "false",
        "DATABASE_URL": f"sqlite:///{data_dir / 'intake.db'}", "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EHR_FHIR_BASE_URL": f"http://127.0.0.1:{free_port()}/fhir", "EHR_BACKEND_AUTH": "none",
        "CONSUMER_GROUP": f"ketalink-intake-readiness-{uuid.uuid4().hex[:8]}", "WORKER_METRICS_PORT": str(port),
        "KETALINK_WORKER_STALL_AFTER_S": str(STALL_AFTER_S)}
    base_url = f"http://127.0.0.1:{port}"
    name = f"intake-worker-{uuid.uuid4().hex[:6]}"
    process = ManagedProcess(name, [sys.executable, "-m", "ketalink_worker", "services.intake.worker"], env, log_dir,
                             http_ok(f"{base_url}/healthz"), ready_timeout_s=90.0)
    return process, base_url


def readyz(base_url: str) -> tuple[int, str]:
    response = requests.get(f"{base_url}/readyz", timeout=5)
    return response.status_code, response.text


def wait_for_readyz(base_url: str, status: int, deadline_s: float) -> tuple[float, str]:
    """Seconds until /readyz answered ``status``, and its body."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        code, body = readyz(base_url)
        if code == status:
            return time.monotonic() - started, body
        time.sleep(0.2)
    raise AssertionError(f"/readyz not {status} within {deadline_s} s; last: {readyz(base_url)}")


def metric(base_url: str, line_start: str) -> list[str]:
    return [line for line in requests.get(f"{base_url}/metrics", timeout=5).text.splitlines()
            if line.startswith(line_start)]


def test_ready_while_working_not_ready_within_the_threshold_once_the_broker_is_gone_ready_again_when_back(
        own_broker: tuple[ManagedProcess, str], log_dir: Path, tmp_path: Path):
    broker, bootstrap = own_broker
    worker, base_url = intake_worker(log_dir, tmp_path, bootstrap)
    worker.start()
    try:
        joined_s, body = wait_for_readyz(base_url, 200, 90.0)
        assert body == "ok"
        assert metric(base_url, 'ketalink_worker_ready{component="ketalink-intake-readiness-') \
            and all(line.endswith(" 1.0") for line in metric(base_url, "ketalink_worker_ready{"))
        deadline = time.monotonic() + 30  # each partition's highwater comes with its first fetch response
        while not metric(base_url, "ketalink_consumer_lag{") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metric(base_url, "ketalink_consumer_lag{"), "lag per partition is exported"
        assert metric(base_url, 'ketalink_outbox_backlog{outbox="intake"} 0.0')

        broker.stop()
        stalled_s, body = wait_for_readyz(base_url, 503, STALL_AFTER_S + SLACK_S)
        assert "consumer ketalink-intake-readiness-" in body and "not for" in body, body
        assert stalled_s >= STALL_AFTER_S - 1, f"not ready after {stalled_s:.1f} s: before the threshold"
        assert metric(base_url, 'ketalink_worker_ready{component="ketalink-intake-readiness-')[0].endswith(" 0.0")
        assert requests.get(f"{base_url}/healthz", timeout=5).status_code == 200  # alive: a restart cures nothing

        broker.start()
        recovered_s, _ = wait_for_readyz(base_url, 200, 90.0)
    finally:
        worker.stop()
    print(f"\nworker readiness (stall threshold {STALL_AFTER_S:.0f} s): ready {joined_s:.1f} s after start; "
          f"503 {stalled_s:.1f} s after the broker stopped; ready {recovered_s:.1f} s after it was back")


def test_a_worker_that_can_never_reach_its_broker_is_never_ready_and_names_its_relay_with_a_backlog(
        log_dir: Path, tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'intake.db'}")
    with engine.begin() as conn:  # one event waiting: the relay has a backlog it cannot send
        enqueue(conn, INTAKE_EVENTS, "patient-key", build_message(
            "intake-decided", "urn:test", [{"resourceType": "Basic", "code": {"text": "x"}}], message_id="m-1"))
    engine.dispose()
    worker, base_url = intake_worker(log_dir, tmp_path, f"127.0.0.1:{free_port()}")  # nothing listens there
    started = time.monotonic()
    worker.start()
    try:
        seen: set[int] = set()
        body = ""
        while time.monotonic() - started < STALL_AFTER_S + SLACK_S + 20 and "outbox-relay" not in body:
            code, body = readyz(base_url)
            seen.add(code)
            time.sleep(0.2)
        relay_named_s = time.monotonic() - started
        assert seen == {503}, f"/readyz answered {seen}"
        assert "not joined its group yet" in body and "outbox-relay: cannot send its backlog" in body, body
        assert metric(base_url, 'ketalink_outbox_backlog{outbox="intake"} 1.0')
        assert metric(base_url, 'ketalink_worker_ready{component="outbox-relay"} 0.0')
    finally:
        worker.stop()
    print(f"\nunreachable broker: never ready; relay named {relay_named_s:.1f} s after the start")
