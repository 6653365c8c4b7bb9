"""What every phase shares: the stack, the publisher, the watchers and meters, the report, and the services
started so far.

A service is started the first time a phase needs it, with its consumer group at the end of every topic, and
stays up for the later phases; so while one service's inbound path is measured, the services started before it
are idle but running (they read ``ehr.events`` too and skip the events that are not theirs), as in the real
deployment."""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench import population as pop
from bench.config import BenchConfig
from bench.inbound import Answered, Committed, PathEnd, Publisher, measure_burst
from bench.memory import MemorySampler, ProcessMemory
from bench.profiling import Profiler
from bench.report import MB, MemoryRow, Report
from bench.stack import BenchStack, RunningService
from bench.watch import ProcessedLog, TopicWatcher
from shared.events.topics import EHR_RESPONSES, INTAKE_EVENTS, ORDERS_EVENTS

SETTLE_S = 3.0  # after a start: the consumer joins its group and start-up work ends before "idle" is sampled


@dataclass
class Context:
    config: BenchConfig
    stack: BenchStack
    publisher: Publisher
    memory: MemorySampler
    watcher: TopicWatcher  # ehr.responses and ketalink.orders.events, for the whole run
    report: Report
    services: dict[str, RunningService] = field(default_factory=dict)

    def service(self, name: str) -> RunningService:
        if name not in self.services:
            postgres_store = self.config.database == "postgres"
            database_url = self.stack.postgres().new_database() if postgres_store else None
            running = self.stack.start_service(name, database_url=database_url)
            time.sleep(SETTLE_S)
            self.memory.watch(f"{name} ({'PostgreSQL' if postgres_store else 'SQLite'}, web+worker)", running.pid)
            self.services[name] = running
        return self.services[name]

    @property
    def ehr_pid(self) -> int:
        assert self.stack.ehr_process is not None and self.stack.ehr_process.process is not None
        return self.stack.ehr_process.process.pid

    def cpu_of(self, *names: str) -> dict[str, int]:
        """The processes whose CPU time a row reports: the named services (summed as "service") and the EHR."""
        return {**{f"service-{n}": self.services[n].pid for n in names}, "ehr": self.ehr_pid}

    def profiled(self, phase: str, names: tuple[str, ...]) -> contextlib.AbstractContextManager[object]:
        """py-spy on the named services and the EHR sandbox (its integration engine) while the block runs."""
        if not self.config.profile:
            return contextlib.nullcontext()
        processes = {n: self.services[n].pid for n in names if n in self.services} | {"ehr": self.ehr_pid}
        return Profiler(self.config.out_dir, phase, processes)


def split_cpu(cpu_ms: dict[str, float]) -> tuple[float, float]:
    """(the services' CPU ms summed, the EHR's)."""
    return (sum(v for k, v in cpu_ms.items() if k.startswith("service-")), cpu_ms.get("ehr", math.nan))


class HasConsumerLog(Protocol):
    @property
    def log_path(self) -> Path: ...


def decide_eligible(ctx: Context, services: Sequence[HasConsumerLog], patient_ids: list[str]) -> None:
    """Publish an eligible intake decision per patient; wait until orders stored them all and the EHR's engine
    applied them all, so the measurement after starts with every process idle."""
    ends: list[PathEnd] = [Committed(ProcessedLog([s.log_path for s in services]), INTAKE_EVENTS),
                           Answered(ctx.watcher, "intake-eligibility-decided", "ehr")]
    measure_burst(ctx.publisher, INTAKE_EVENTS, [(p, pop.eligibility(p)) for p in patient_ids], ends,
                  ctx.config.timeout_s)


@contextlib.contextmanager
def run_context(config: BenchConfig, report: Report) -> Iterator[Context]:
    with BenchStack(config.broker, config.partitions, config.keep) as stack, MemorySampler() as memory, \
            TopicWatcher(stack.bootstrap, [EHR_RESPONSES, ORDERS_EVENTS]) as watcher:
        publisher = Publisher(stack.bootstrap)
        try:
            yield Context(config, stack, publisher, memory, watcher, report)
        finally:
            publisher.close()
            for entry in memory.results():
                report.memory.append(_memory_row(entry))
            if config.keep:
                report.notes.append(f"Server logs kept in {stack.log_dir}")


def _memory_row(entry: ProcessMemory) -> MemoryRow:
    return MemoryRow(entry.label, entry.idle_bytes / MB, entry.peak_bytes / MB)
