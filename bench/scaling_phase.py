"""One against two consumer processes of orders, in one consumer group, on one PostgreSQL database."""
from __future__ import annotations

import contextlib
import time

from kafka import KafkaAdminClient

from bench import population as pop
from bench import postgres
from bench.context import SETTLE_S, Context, decide_eligible, split_cpu
from bench.inbound import Answered, BenchError, Committed, PathEnd, measure_burst
from bench.memory import CpuMeter
from bench.profiling import Profiler
from bench.report import ScalingRow
from bench.stack import RunningService
from bench.watch import ProcessedLog, wait_until
from shared.events.topics import EHR_EVENTS


def scaling(ctx: Context) -> None:
    """The orders inbound path with one, then two processes in one consumer group on one PostgreSQL database."""
    if not postgres.available():
        ctx.report.notes.append("1 vs 2 consumers skipped: PostgreSQL (initdb, pg_ctl) not found; two processes "
                                "of one service need a database they can share (SQLite is one process's store).")
        return
    for name in list(ctx.services):
        ctx.stack.stop(ctx.services.pop(name))
    database_url = ctx.stack.postgres().new_database()
    first = ctx.stack.start_service("orders", database_url=database_url, label="-pg-1")
    group = first.group
    time.sleep(SETTLE_S)
    ctx.memory.watch("orders (PostgreSQL, web+worker)", first.pid)
    one, (one_cpu, one_ehr) = _scaling_run(ctx, [first], "scaling-1")
    second = ctx.stack.start_service("orders", group=group, database_url=database_url, label="-pg-2",
                                     worker_only=True)
    _wait_for_members(ctx.stack.bootstrap, group, 2)
    time.sleep(SETTLE_S)
    ctx.memory.watch("orders worker (PostgreSQL)", second.pid)
    two, (two_cpu, two_ehr) = _scaling_run(ctx, [first, second], "scaling-2")
    for end in one:
        ctx.report.scaling.append(ScalingRow(1, end, one[end], 1.0, one_cpu, one_ehr))
    for end in two:
        ctx.report.scaling.append(ScalingRow(2, end, two[end], two[end] / one[end], two_cpu, two_ehr))


def _scaling_run(ctx: Context, services: list[RunningService], phase: str
                 ) -> tuple[dict[str, float], tuple[float, float]]:
    """(end → msgs/s, (CPU ms per message of the orders processes together, of the EHR sandbox)). The EHR
    sandbox (one engine consumer, the FHIR server in the same process) is profiled too: it bounds the end-to-end
    rate when the orders consumers scale."""
    n = ctx.config.messages
    patients = [p.patient_id for p in pop.create_patients(ctx.stack.fhir, n)]
    decide_eligible(ctx, services, patients)
    messages = pop.cpoe_orders(ctx.stack.fhir, patients)
    log = ProcessedLog([s.log_path for s in services])
    per_process = [ProcessedLog([s.log_path]) for s in services]
    ends: list[PathEnd] = [Committed(log, EHR_EVENTS, "committed (order stored)"),
                           Answered(ctx.watcher, "order-signed", "EHR stored the order (ok)")]
    processes = {f"service-orders-{i + 1}": s.pid for i, s in enumerate(services)} | {"ehr": ctx.ehr_pid}
    with Profiler(ctx.config.out_dir, phase, processes) if ctx.config.profile else contextlib.nullcontext(), \
            CpuMeter(processes) as cpu:
        throughput, _ = measure_burst(ctx.publisher, EHR_EVENTS, list(zip(patients, messages)), ends,
                                      ctx.config.timeout_s)
    if len(services) > 1:
        shares = [_committed_count(log) for log in per_process]
        ctx.report.notes.append(f"With 2 consumers, cpoe-order-placed records committed per process: {shares} "
                                f"({ctx.config.partitions} partitions per topic).")
    return {end: t.per_second for end, t in throughput.items()}, split_cpu(cpu.ms_per(n))


def _committed_count(log: ProcessedLog) -> int:
    """``ehr.events`` records one process committed as done since ``log`` was made."""
    log.refresh()
    return sum(1 for (topic, _, _), (_, outcome) in log.done.items() if topic == EHR_EVENTS and outcome == "done")


class _GroupAdmin(KafkaAdminClient):
    """kafka-python 3.0.12 fails to decode Tansu's ``authorized_operations`` in DescribeGroups (an ACL code it
    does not know); the bench only needs the members, so that field is dropped."""

    def _process_acl_operations(self, obj):  # type: ignore[no-untyped-def]
        obj.pop("authorized_operations", None)
        return obj


def _wait_for_members(bootstrap: str, group: str, members: int, timeout_s: float = 60.0) -> None:
    admin = _GroupAdmin(bootstrap_servers=[bootstrap], client_id="bench-admin")
    try:
        def joined() -> bool:
            description = admin.describe_groups([group])[group]
            return description.get("group_state") == "Stable" and len(description.get("members") or []) == members

        if not wait_until(joined, timeout_s, interval_s=0.5):
            raise BenchError(f"consumer group did not settle with {members} members in {timeout_s:.0f} s")
    finally:
        admin.close()
