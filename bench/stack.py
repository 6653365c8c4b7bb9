"""The benchmark's own servers, as real processes on free loopback ports in one temporary directory: the broker
(Tansu, or Apache Kafka with ``--broker kafka``), the EHR sandbox, the services and, for the 1-vs-2 consumer rows,
a throwaway PostgreSQL. ``BenchStack`` is a context manager: whatever happens (an error, Ctrl-C, SIGTERM), every
process it started is stopped on the way out, so a failed run never leaves a broker behind."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from bench.postgres import Postgres
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import ACCESS, all_topics
from shared.fhir.client import FhirClient
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
        return FhirClient(self.ehr_base_url, timeout_s=30)

    def start_service(self, name: str, *, group: str | None = None, database_url: str | None = None,
                      label: str = "", worker_only: bool = False) -> RunningService:
        """A service process. Without ``group``, its consumer group is new and starts at the current end of its
        topics, so it sees only what the bench publishes from now on (not the earlier phases' traffic)."""
        if group is None:  # a new group; a process joining an existing one takes its offsets as they are
            group = f"bench-{name}-{uuid.uuid4().hex[:8]}"
            start_group_at_end(self.bootstrap, group, ACCESS[name].reads)
        data_dir = self.root / f"{name}{label}"
        data_dir.mkdir(exist_ok=True)
        env = {"CONSUMER_GROUP": group, **self._kafka_env()}
        if database_url:
            env["DATABASE_URL"] = database_url
        managed, base_url = service(name, self.log_dir, data_dir, self.bootstrap, self.ehr_base_url, extra_env=env)
        managed.name = f"{name}{label}"
        managed.log_path = self.log_dir / f"{managed.name}.log"
        if worker_only:
            managed.command = [managed.command[0], "-m", f"services.{name}.worker"]
            managed._ready = _log_says(managed.log_path, b'"worker running"')  # no HTTP server to ask
        return RunningService(name, self._started(managed), base_url, group)

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


def start_group_at_end(bootstrap: str, group: str, topics: tuple[str, ...]) -> None:
    """Commit the current end of ``topics`` as ``group``'s offsets."""
    consumer = KafkaConsumer(bootstrap_servers=[bootstrap], group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic) or ()]
        if partitions:
            consumer.assign(partitions)
            ends = consumer.end_offsets(partitions)
            consumer.commit({partition: OffsetAndMetadata(end, "", -1) for partition, end in ends.items()})
    finally:
        consumer.close()


def _log_says(path: Path, marker: bytes):  # type: ignore[no-untyped-def]
    start = path.stat().st_size if path.exists() else 0

    def check() -> bool:
        if not path.exists():
            return False
        with open(path, "rb") as log:
            log.seek(start)
            return marker in log.read()
    return check


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
