"""Real servers for the tests, as local processes on free ports: the broker, the EHR sandbox and the services.

Each is started once per test session by a fixture and stopped at the end; ``stop()``/``start()`` let fault tests
take one away and bring it back. When a Docker engine is reachable and ``KETALINK_TESTCONTAINERS=1``, the broker and
EHR come from testcontainers instead (Apache Kafka, HAPI FHIR)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from deploy.local.ports import free_port
from shared.events.topics import ACCESS
from tests.support.backend_auth import sandbox_backend_environment, service_backend_environment
from tests.support.clinic_zone import clinic_zone_of_the_tests

ROOT = Path(__file__).resolve().parents[2]


class ManagedProcess:
    """One child process with its log file; restartable with the same command and environment."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path,
                 ready: Callable[[], bool] | bytes, ready_timeout_s: float = 60.0):
        """``ready`` is a check, or a marker the process writes to its log when it is ready (looked for in what
        it wrote since its last start, so a restart waits for the marker again)."""
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self._ready = ready if callable(ready) else self._logged(ready)
        self._ready_timeout_s = ready_timeout_s
        self._log_offset = 0
        self.process: subprocess.Popen[bytes] | None = None

    def ready_when_logged(self, marker: bytes) -> None:
        """Count the process as ready once it logged ``marker`` since its last start (e.g. a process with no HTTP
        server to ask)."""
        self._ready = self._logged(marker)

    def _logged(self, marker: bytes) -> Callable[[], bool]:
        return lambda: self.log_path.exists() and marker in self.log_since_start()

    def log_since_start(self) -> bytes:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read()

    def start(self) -> "ManagedProcess":
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + self._ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")
            if self._ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {self._ready_timeout_s} s; see {self.log_path}")

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def kill(self) -> None:
        """Stop without a chance to clean up (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False
    return check


def port_open(port: int) -> Callable[[], bool]:
    import socket

    def check() -> bool:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            return probe.connect_ex(("127.0.0.1", port)) == 0
    return check


def base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "EHR_", "DATABASE_URL", "HTTP_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    env["KETALINK_CLINIC_TIMEZONE"] = clinic_zone_of_the_tests()  # required by every service; bench too
    env.update(group_timing_environment())
    return env


def group_timing_environment() -> dict[str, str]:
    """Tansu's group join waits session/2; Apache Kafka refuses sessions under 6 s by default."""
    if os.environ.get("KETALINK_TEST_BROKER") == "kafka":
        return {"KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
    # A group join can wait the rebalance timeout (= max poll interval; shared/events/kafka_clients.py): keep it short.
    return {"KAFKA_SESSION_TIMEOUT_MS": "2000", "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "KAFKA_MAX_POLL_INTERVAL_MS": "30000"}


def tansu_broker(log_dir: Path) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = base_environment() | {"BROKER_PORT": str(port)}
    process = ManagedProcess("broker", [sys.executable, "-m", "deploy.local.broker"], env, log_dir, port_open(port))
    return process, f"127.0.0.1:{port}"


def ehr_sandbox(log_dir: Path, data_dir: Path, bootstrap: str,
                external_fhir_base_url: str | None = None, extra_env: dict[str, str] | None = None,
                name: str = "ehr", tokens_for_external: bool = False) -> tuple[ManagedProcess, str]:
    """The sandbox process: its own FHIR server, or only seed + integration engine in front of an external one.
    Ready once it logged that it seeded and serves (again after each restart, on the same port and data).
    ``tokens_for_external``: the services and the tests take their backend tokens for the external server from the
    sandbox's token endpoint (``make test-hapi``: HAPI checks none, but the token path is the real one)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/fhir"
    # Its own FHIR server requires tokens: the services' and the tests' backend clients are registered (keys now).
    if not external_fhir_base_url:
        backend = sandbox_backend_environment(base_url, data_dir)
    elif tokens_for_external:
        backend = sandbox_backend_environment(external_fhir_base_url, data_dir,
                                              token_url=f"http://127.0.0.1:{port}/smart/token")
    else:
        backend = {}
    env = base_environment() | {"EHR_SANDBOX_PORT": str(port), "EHR_SANDBOX_DATA_DIR": str(data_dir),
                                "KAFKA_BOOTSTRAP_SERVERS": bootstrap, **backend, **(extra_env or {})}
    if external_fhir_base_url:
        env["EHR_SANDBOX_FHIR_BASE_URL"] = external_fhir_base_url
        base_url = external_fhir_base_url
    process = ManagedProcess(name, [sys.executable, "-m", "deploy.ehr_sandbox"], env, log_dir,
                             b'"ehr sandbox ready"')
    return process, base_url


def service(name: str, log_dir: Path, data_dir: Path, bootstrap: str, ehr_base_url: str,
            extra_env: dict[str, str] | None = None, port: int | None = None,
            label: str = "") -> tuple[ManagedProcess, str]:
    """A service as a real process. SMART auth is off unless ``extra_env`` turns it on (SMART_AUTH_REQUIRED=true):
    tests of the domain drive the API without tokens; tests/browser and the auth tests go through the launch.
    The service's own EHR reads carry its backend token (``tests/support/backend_auth.py``).

    Unless ``extra_env`` names a CONSUMER_GROUP, the service gets a group of its own, ``ketalink-{name}-{label}-
    {random}``, that starts at the end of the topics it reads: the broker is shared, and what earlier tests
    published (the fuzz tests' records, other suites' orders for the same seeded patients) is not this service's
    business. The group is in the process's ``env["CONSUMER_GROUP"]``."""
    port = port or free_port()
    group = "-".join(part for part in ("ketalink", name, label, uuid.uuid4().hex[:8]) if part)
    if "CONSUMER_GROUP" not in (extra_env or {}):
        start_group_at_end(bootstrap, group, ACCESS[name].reads)
    env = base_environment() | {
        "SMART_AUTH_REQUIRED": "false", "KETALINK_LOCAL_RUN": "true",  # auth off: allowed in local runs only
        "CONSUMER_GROUP": group,
        "HTTP_PORT": str(port), "DATABASE_URL": f"sqlite:///{data_dir / f'{name}.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "EHR_FHIR_BASE_URL": ehr_base_url,
        **service_backend_environment(name, ehr_base_url), **(extra_env or {})}
    base_url = f"http://127.0.0.1:{port}"
    from tests.support.prod_model import prod_model, prod_service  # it builds on this module

    if prod_model():  # make test-prod: PostgreSQL with a role per service, gunicorn and a worker process
        return prod_service(name, log_dir, data_dir, env, port), base_url  # type: ignore[return-value]
    process = ManagedProcess(name, [sys.executable, "-m", f"services.{name}"], env, log_dir,
                             http_ok(f"{base_url}/healthz"))
    return process, base_url


def start_group_at_end(bootstrap: str, group: str, topics: tuple[str, ...]) -> None:
    """Commit the current end of ``topics`` as ``group``'s offsets (topics not created yet start empty anyway)."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic) or ()]
        if partitions:
            consumer.assign(partitions)
            ends = consumer.end_offsets(partitions)
            consumer.commit({partition: OffsetAndMetadata(end, "", -1) for partition, end in ends.items()})
    finally:
        consumer.close()
