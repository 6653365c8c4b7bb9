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

GOAL_INBOUND_RATIO = 0.5  # issue 8: an inbound path's committed msgs/s over the raw broker's
GOAL_CDS_P99_MS = 200.0  # issue 17: the order-sign hook, at 8 clients
MB = 1024 * 1024
CLIENTS_OF_THE_GOALS = 8  # issue 19's p99 goals are at 8 concurrent clients
ONE_PROCESS = "one process"  # a service as ``make run`` runs it (ApiRow.model)
PRODUCTION = "production"  # gunicorn workers + the worker process + PostgreSQL (tests/support/prod_model.py)


@dataclass(frozen=True)
class Goal:
    """One row of issue 19's table: the figure, how it compares to its target, and the target."""

    figure: str
    comparison: str  # "≤", "<" or "≥"
    target: float
    unit: str  # "ms", "msgs/s", "MB" or "×"

    def met(self, value: float) -> bool:
        return {"≤": value <= self.target, "<": value < self.target, "≥": value >= self.target}[self.comparison]

    def text(self) -> str:
        return (f"{self.comparison} ×{self.target:g}" if self.unit == "×"
                else f"{self.comparison} {self.target:g} {self.unit}")


# Issue 19's goals, each stated once: the phases take their targets from here, and the goals table lists them all.
CPOE_ORDER_CPU = Goal("orders, CPOE order inbound, CPU per message (service)", "≤", 8.0, "ms")
ORDER_SIGN_CPU = Goal("order sign, CPU per request (service; with its order's create)", "≤", 8.0, "ms")
VITALS_ENTRY_CPU = Goal("vitals entry, CPU per request (service)", "≤", 4.0, "ms")
REFERRAL_CPU = Goal("intake referral inbound, CPU per message (service)", "≤", 4.0, "ms")
VITALS_INBOUND_RATE = Goal("documentation vitals inbound, committed", "≥", 500.0, "msgs/s")
DOSE_PREVIEW_P99 = Goal("p99 at 8 clients, production model: dose preview", "<", 100.0, "ms")
ORDER_SIGN_P99 = Goal("p99 at 8 clients, production model: order sign", "<", 150.0, "ms")
VITALS_ENTRY_P99 = Goal("p99 at 8 clients, production model: vitals entry", "<", 100.0, "ms")
SCALING_SPEEDUP = Goal("orders end to end (EHR stored it) with 2 consumers vs 1", "≥", 1.8, "×")
IDLE_RSS = Goal("idle RSS, the largest service process", "<", 120.0, "MB")
ISSUE_19_GOALS = (CPOE_ORDER_CPU, ORDER_SIGN_CPU, VITALS_ENTRY_CPU, REFERRAL_CPU, VITALS_INBOUND_RATE,
                  DOSE_PREVIEW_P99, ORDER_SIGN_P99, VITALS_ENTRY_P99, SCALING_SPEEDUP, IDLE_RSS)
# The API rows each CPU and p99 goal is read from (ApiRow.key)
DOSE_PREVIEW, ORDER_SIGN, VITALS_ENTRY = "dose preview", "order sign", "vitals entry"


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
    service_cpu_ms: float = math.nan  # CPU ms per iteration (warm-up included): the service's processes
    ehr_cpu_ms: float = math.nan  # ... and the EHR sandbox
    key: str = ""  # what the issue-19 goals find the row by: DOSE_PREVIEW, ORDER_SIGN, VITALS_ENTRY, or ""
    model: str = ""  # ONE_PROCESS or PRODUCTION ("" for a reference row that times no service)


@dataclass
class GoalRow:
    """One row of the "Issue 19 goals" table: ``measured`` is nan when the run did not measure it."""

    figure: str
    measured: float
    shown: str  # the measured figure as printed, with what it was read from
    goal: str
    status: str  # "met", "NOT met" or "not measured"


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
    service_cpu_ms: float = math.nan  # CPU ms per message: the orders processes together
    ehr_cpu_ms: float = math.nan  # ... and the EHR sandbox


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
        text = json.dumps(asdict(self) | {"issue_19_goals": [asdict(row) for row in self.issue_19_goals()]},
                          indent=2, default=str)
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
                                ["operation", "process model", "clients", "requests", "p50 ms", "p99 ms", "req/s",
                                 "p99 goal", "CPU svc", "CPU EHR"],
                                [[r.operation, r.model or "-", r.clients, r.requests, _ms(r.p50_ms), _ms(r.p99_ms),
                                  _n(r.requests_per_s), _goal(r.p99_ms, r.goal_p99_ms), _ms(r.service_cpu_ms),
                                  _ms(r.ehr_cpu_ms)] for r in self.api]))
        if self.memory:
            parts.append(_table("Resident memory per process (MB)",
                                ["process", "idle", "peak under load", f"goal idle {IDLE_RSS.text()}"],
                                [[m.process, f"{m.idle_mb:.0f}", f"{m.peak_mb:.0f}",
                                  _status(IDLE_RSS, m.idle_mb)] for m in self.memory]))
        if self.scaling:
            parts.append(_table("1 vs 2 consumer processes (orders, PostgreSQL, same group)",
                                ["consumers", "measured to", "msgs/s", "× one", "CPU ms/msg (orders)", "CPU EHR"],
                                [[s.consumers, s.end, _n(s.msgs_per_s), f"{s.speedup:.2f}", _ms(s.service_cpu_ms),
                                  _ms(s.ehr_cpu_ms)] for s in self.scaling]))
        earlier = self._earlier_goals()
        if earlier:
            parts.append(earlier)
        if self.notes:
            parts.append("Notes:\n" + "\n".join(f"- {n}" for n in self.notes))
        parts.append(_table("Issue 19 goals (CPU rows: the one-process model, as the issue measured them; "
                            "p99 rows: the production model)",
                            ["figure", "measured", "goal", "met?"],
                            [[g.figure, g.shown, g.goal, g.status] for g in self.issue_19_goals()]))
        parts.append(f"Run time {self.seconds:.0f} s.")
        return "\n\n".join(parts)

    def issue_19_goals(self) -> list[GoalRow]:
        """Every row of issue 19's table, measured or not, in the issue's order."""
        cpoe = self._inbound("orders")
        referral = self._inbound("intake")
        vitals_in = self._inbound("documentation")
        two = next((s for s in self.scaling if s.consumers == 2 and s.end.startswith("EHR stored")), None)
        idle = max(self.memory, key=lambda m: m.idle_mb, default=None)
        clients = self.parameters.get("clients", CLIENTS_OF_THE_GOALS)
        at = "" if clients == CLIENTS_OF_THE_GOALS else f" (at {clients} clients, not {CLIENTS_OF_THE_GOALS})"
        measured: list[tuple[Goal, float, str]] = [
            (CPOE_ORDER_CPU, cpoe.service_cpu_ms if cpoe else math.nan,
             f"{_ms(cpoe.service_cpu_ms)} ms (+{_ms(cpoe.ehr_cpu_ms)} ms EHR sandbox)" if cpoe else ""),
            self._api_cpu(ORDER_SIGN_CPU, ORDER_SIGN), self._api_cpu(VITALS_ENTRY_CPU, VITALS_ENTRY),
            (REFERRAL_CPU, referral.service_cpu_ms if referral else math.nan,
             f"{_ms(referral.service_cpu_ms)} ms" if referral else ""),
            (VITALS_INBOUND_RATE, vitals_in.msgs_per_s if vitals_in else math.nan,
             f"{_n(vitals_in.msgs_per_s)} msgs/s" if vitals_in else ""),
            self._api_p99(DOSE_PREVIEW_P99, DOSE_PREVIEW, at), self._api_p99(ORDER_SIGN_P99, ORDER_SIGN, at),
            self._api_p99(VITALS_ENTRY_P99, VITALS_ENTRY, at),
            (SCALING_SPEEDUP, two.speedup if two else math.nan,
             f"×{two.speedup:.2f} ({_n(two.msgs_per_s)} msgs/s with 2)" if two else ""),
            (IDLE_RSS, idle.idle_mb if idle else math.nan, f"{math.floor(idle.idle_mb * 10) / 10:.1f} MB ({idle.process})" if idle else ""),  # 119.96 is not "120"
        ]
        return [GoalRow(goal.figure, value, shown if not math.isnan(value) else "-", goal.text(),
                        _status(goal, value)) for goal, value, shown in measured]

    def _inbound(self, service: str) -> InboundRow | None:
        """The service's inbound row measured to its commit (the first, which carries the CPU figures)."""
        return next((r for r in self.inbound if r.service == service and r.end.startswith("committed")), None)

    def _api(self, key: str, model: str) -> ApiRow | None:
        return next((r for r in self.api if r.key == key and r.model == model), None)

    def _api_cpu(self, goal: Goal, key: str) -> tuple[Goal, float, str]:
        row, production = self._api(key, ONE_PROCESS), self._api(key, PRODUCTION)
        if row is None:
            return goal, math.nan, ""
        also = f" (production model: {_ms(production.service_cpu_ms)})" if production else ""
        return goal, row.service_cpu_ms, f"{_ms(row.service_cpu_ms)} ms{also}"

    def _api_p99(self, goal: Goal, key: str, at: str) -> tuple[Goal, float, str]:
        row, one = self._api(key, PRODUCTION), self._api(key, ONE_PROCESS)
        if row is None:
            return goal, math.nan, ""
        also = f" (one process: {_ms(one.p99_ms)})" if one else ""
        return goal, row.p99_ms, f"{_ms(row.p99_ms)} ms{also}{at}"

    def _earlier_goals(self) -> str:
        """The goals of the issues before 19 that it did not replace: inbound ÷ raw (8), the CDS hook (17)."""
        lines = ["Earlier goals (issues 8 and 17; issue 19's are in the last table):"]
        for row in self.inbound:
            if row.end.startswith("committed"):
                lines.append(f"- inbound ≥ {GOAL_INBOUND_RATIO:.0%} of raw: {row.service} {_pct(row.ratio)} → "
                             f"{'met' if row.ratio >= GOAL_INBOUND_RATIO else 'NOT met'}")
        for api in self.api:
            if api.goal_p99_ms is not None and api.key not in (DOSE_PREVIEW, ORDER_SIGN, VITALS_ENTRY):
                lines.append(f"- {api.operation} p99 < {api.goal_p99_ms:.0f} ms: {_ms(api.p99_ms)} ms → "
                             f"{_goal(api.p99_ms, api.goal_p99_ms)}")
        return "\n".join(lines) if len(lines) > 1 else ""


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


def _status(goal: Goal, value: float) -> str:
    if math.isnan(value):
        return "not measured"
    return "met" if goal.met(value) else "NOT met"


def _goal(p99_ms: float, goal_ms: float | None) -> str:
    if goal_ms is None:
        return ""
    return "met" if p99_ms < goal_ms else "NOT met"
