"""The results of one run: rows collected by the phases, printed as plain-text tables and saved as JSON
(``var/bench/bench-<time>.json`` and ``latest.json``) so two runs can be compared."""
from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

GOAL_INBOUND_RATIO = 0.5
GOAL_API_P99_MS = 50.0
GOAL_CDS_P99_MS = 200.0  # issue 17: the order-sign hook, at 8 clients
GOAL_IDLE_RSS_MB = 120.0
MB = 1024 * 1024


@dataclass
class RawRow:
    mode: str
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    record_bytes: int


@dataclass
class InboundRow:
    service: str
    path: str  # what goes in
    end: str  # where the measurement stops
    msgs_per_s: float
    p50_ms: float
    p99_ms: float
    ratio: float  # msgs/s over the raw broker's (auto-commit) msgs/s
    service_cpu_ms: float = math.nan  # CPU ms per message in the throughput run: the service process(es)
    ehr_cpu_ms: float = math.nan  # ... and the EHR sandbox (FHIR server + integration engine)


@dataclass
class ApiRow:
    operation: str
    clients: int
    requests: int
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    goal_p99_ms: float | None
    service_cpu_ms: float = math.nan  # CPU ms per iteration (warm-up included): the service process
    ehr_cpu_ms: float = math.nan  # ... and the EHR sandbox


@dataclass
class MemoryRow:
    process: str
    idle_mb: float
    peak_mb: float


@dataclass
class ScalingRow:
    consumers: int
    end: str
    msgs_per_s: float
    speedup: float
    service_cpu_ms: float = math.nan


@dataclass
class Report:
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    machine: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    raw: list[RawRow] = field(default_factory=list)
    inbound: list[InboundRow] = field(default_factory=list)
    api: list[ApiRow] = field(default_factory=list)
    memory: list[MemoryRow] = field(default_factory=list)
    scaling: list[ScalingRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def raw_rate(self) -> float:
        return next((r.msgs_per_s for r in self.raw if r.mode == "auto"), math.nan)

    def save(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(asdict(self), indent=2, default=str)
        path = out_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
        path.write_text(text)
        (out_dir / "latest.json").write_text(text)
        return path

    def render(self) -> str:
        parts = [f"Ketalink benchmark, {self.started_at}; {_machine_line(self.machine)}",
                 "parameters: " + ", ".join(f"{k}={v}" for k, v in self.parameters.items())]
        if self.raw:
            parts.append(_table("Raw broker baseline (kafka-python produce + consume in a group)",
                                ["consumer commits", "msgs/s", "p50 ms", "p99 ms", "record bytes"],
                                [[r.mode, _n(r.msgs_per_s), _ms(r.p50_ms), _ms(r.p99_ms), r.record_bytes]
                                 for r in self.raw]))
        if self.inbound:
            parts.append(_table("Inbound paths (throughput: N at once; latency: one at a time; CPU ms per message)",
                                ["service", "path", "measured to", "msgs/s", "p50 ms", "p99 ms", "÷ raw",
                                 "CPU svc", "CPU EHR"],
                                [[r.service, r.path, r.end, _n(r.msgs_per_s), _ms(r.p50_ms), _ms(r.p99_ms),
                                  _pct(r.ratio), _ms(r.service_cpu_ms), _ms(r.ehr_cpu_ms)] for r in self.inbound]))
        if self.api:
            parts.append(_table("API latency under concurrent clients (CPU ms per iteration)",
                                ["operation", "clients", "requests", "p50 ms", "p99 ms", "req/s", "goal p99",
                                 "CPU svc", "CPU EHR"],
                                [[r.operation, r.clients, r.requests, _ms(r.p50_ms), _ms(r.p99_ms),
                                  _n(r.requests_per_s), _goal(r.p99_ms, r.goal_p99_ms), _ms(r.service_cpu_ms),
                                  _ms(r.ehr_cpu_ms)] for r in self.api]))
        if self.memory:
            parts.append(_table("Resident memory per process (MB)",
                                ["process", "idle", "peak under load", f"goal idle < {GOAL_IDLE_RSS_MB:.0f}"],
                                [[m.process, f"{m.idle_mb:.0f}", f"{m.peak_mb:.0f}",
                                  "met" if m.idle_mb < GOAL_IDLE_RSS_MB else "NOT met"] for m in self.memory]))
        if self.scaling:
            parts.append(_table("1 vs 2 consumer processes (orders, PostgreSQL, same group)",
                                ["consumers", "measured to", "msgs/s", "× one", "CPU ms/msg (orders)"],
                                [[s.consumers, s.end, _n(s.msgs_per_s), f"{s.speedup:.2f}", _ms(s.service_cpu_ms)]
                                 for s in self.scaling]))
        parts.append(self._goals())
        if self.notes:
            parts.append("Notes:\n" + "\n".join(f"- {n}" for n in self.notes))
        parts.append(f"Run time {self.seconds:.0f} s.")
        return "\n\n".join(parts)

    def _goals(self) -> str:
        lines = ["Goals:"]
        for row in self.inbound:
            if row.end.startswith("committed"):
                lines.append(f"- inbound ≥ {GOAL_INBOUND_RATIO:.0%} of raw: {row.service} {_pct(row.ratio)} → "
                             f"{'met' if row.ratio >= GOAL_INBOUND_RATIO else 'NOT met'}")
        for api in self.api:
            if api.goal_p99_ms is not None:
                lines.append(f"- {api.operation} p99 < {api.goal_p99_ms:.0f} ms: {_ms(api.p99_ms)} ms → "
                             f"{_goal(api.p99_ms, api.goal_p99_ms)}")
        for memory in self.memory:
            lines.append(f"- idle RSS < {GOAL_IDLE_RSS_MB:.0f} MB: {memory.process} {memory.idle_mb:.0f} MB → "
                         f"{'met' if memory.idle_mb < GOAL_IDLE_RSS_MB else 'NOT met'}")
        return "\n".join(lines)


def machine_facts() -> dict:
    frequency = psutil.cpu_freq()
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "cpu_mhz": round(frequency.current) if frequency else None,
            "memory_gb": round(psutil.virtual_memory().total / 1024 ** 3, 1), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def _machine_line(machine: dict) -> str:
    return (f"{machine.get('cpus')} CPUs ({machine.get('cpu_model') or 'unknown model'}), "
            f"{machine.get('memory_gb')} GB, Python {machine.get('python')}, "
            f"load average at start {machine.get('load_average_at_start')}")


def _table(title: str, headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join([title, line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells[1:]])


def _n(value: float) -> str:
    return "-" if math.isnan(value) else (f"{value:.0f}" if value >= 100 else f"{value:.1f}")


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1%}"


def _goal(p99_ms: float, goal_ms: float | None) -> str:
    if goal_ms is None:
        return ""
    return "met" if p99_ms < goal_ms else "NOT met"
