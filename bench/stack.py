"""The benchmark's own servers, as real processes on free loopback ports in one temporary directory: the broker
(Tansu, or Apache Kafka with ``--broker kafka``), the EHR sandbox, the services and, for the 1-vs-2 consumer rows,
a throwaway PostgreSQL. ``BenchStack`` is a context manager: whatever happens (an error, Ctrl-C, SIGTERM), every
process it started is stopped on the way out, so a failed run never leaves a broker behind."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.postgres import Postgres
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import all_topics
from shared.fhir.client import FhirClient
from tests.support.backend_auth import ehr_client
from tests.support.processes import ManagedProcess, ehr_sandbox, service, tansu_broker


@dataclass
class RunningService:
    """One service process the bench started: its name, HTTP base URL, consumer group and log file."""

    name: str
    process: ManagedProcess
    base_url: str
    group: str

    @property
    def pid(self) -> int:
        assert self.process.process is not None
        return self.process.process.pid

    @property
    def log_path(self) -> Path:
        return self.process.log_path


class BenchStack:
    def __init__(self, broker: str = "tansu", partitions: int = 4, keep_dir: bool = False):
        self.broker_kind = broker
        self.partitions = partitions
        self.keep_dir = keep_dir
        self.root = Path(tempfile.mkdtemp(prefix="ketalink-bench-"))
        self.log_dir = self.root / "logs"
        self.log_dir.mkdir()
        self.bootstrap = ""
        self.ehr_base_url = ""
        self.ehr_process: ManagedProcess | None = None
        self._processes: list[ManagedProcess] = []
        self._postgres: Postgres | None = None
        self._previous_sigterm = None

    # --- lifetime ------------------------------------------------------------------------------------------------
    def __enter__(self) -> "BenchStack":
        # SIGTERM behaves like Ctrl-C: the ``finally`` blocks and __exit__ run and stop every child.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            self._start_broker()
            # Every topic exists before anyone connects, with the partition count asked for: a service creating
            # them itself would use its default (KAFKA_TOPIC_PARTITIONS, 3).
            ensure_topics(KafkaSettings(bootstrap_servers=self.bootstrap, topic_partitions=self.partitions),
                          all_topics())
            ehr, self.ehr_base_url = ehr_sandbox(self.log_dir, self.root / "ehr", self.bootstrap,
                                                 extra_env=self._kafka_env())
            self.ehr_process = self._started(ehr)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for process in reversed(self._processes):
            try:
                process.stop()
            except Exception:  # noqa: BLE001 - keep stopping the others
                process.kill()
        self._processes.clear()
        if self._postgres is not None:
            self._postgres.stop()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- parts ---------------------------------------------------------------------------------------------------
    @property
    def fhir(self) -> FhirClient:
        return ehr_client(self.ehr_base_url, timeout_s=30)  # the sandbox requires a token: the tests' client

    def start_service(self, name: str, *, group: str | None = None, database_url: str | None = None,
                      label: str = "", worker_only: bool = False,
                      extra_env: dict[str, str] | None = None) -> RunningService:
        """A service process. Without ``group``, its consumer group is new and starts at the current end of its
        topics, so it sees only what the bench publishes from now on (not the earlier phases' traffic)."""
        data_dir = self.root / f"{name}{label}"
        data_dir.mkdir(exist_ok=True)
        # Without a group, service() makes a new one at the end of the topics; a process joining an existing group
        # takes its offsets as they are.
        env = {**({"CONSUMER_GROUP": group} if group else {}), **self._kafka_env()}
        if database_url:
            env["DATABASE_URL"] = database_url
        env |= extra_env or {}
        managed, base_url = service(name, self.log_dir, data_dir, self.bootstrap, self.ehr_base_url, extra_env=env,
                                    label="bench")
        managed.name = f"{name}{label}"
        managed.log_path = self.log_dir / f"{managed.name}.log"
        if worker_only:
            managed.command = [managed.command[0], "-m", f"services.{name}.worker"]
            managed.ready_when_logged(b'"worker running"')  # no HTTP server to ask
        return RunningService(name, self._started(managed), base_url, managed.env["CONSUMER_GROUP"])

    def stop(self, running: RunningService) -> None:
        running.process.stop()
        if running.process in self._processes:
            self._processes.remove(running.process)

    def postgres(self) -> Postgres:
        """A PostgreSQL cluster for the rows that need two processes on one database (started once)."""
        if self._postgres is None:
            self._postgres = Postgres(self.root / "postgres").start()
        return self._postgres

    def _start_broker(self) -> None:
        if self.broker_kind == "kafka":
            os.environ["KETALINK_TEST_BROKER"] = "kafka"  # base_environment: group timings Apache Kafka accepts
            from tests.support.apache_kafka import apache_kafka_broker

            (self.root / "kafka").mkdir()
            process, self.bootstrap = apache_kafka_broker(self.log_dir, self.root / "kafka")
        elif self.broker_kind == "tansu":
            process, self.bootstrap = tansu_broker(self.log_dir)
        else:
            raise ValueError(f"unknown broker {self.broker_kind!r} (tansu or kafka)")
        self._started(process)

    def _started(self, process: ManagedProcess) -> ManagedProcess:
        self._processes.append(process)  # registered first: a start that times out is still stopped at exit
        return process.start()

    def _kafka_env(self) -> dict[str, str]:
        return {"KAFKA_TOPIC_PARTITIONS": str(self.partitions)}


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
