"""Resident memory (RSS) and CPU time of the service processes: the process and its children (a service has none
today, but a gunicorn-style server would), summed.

RSS is sampled in a background thread. "Idle" is one sample taken after the service started and settled (its
consumer joined, nothing to do); "peak" is the largest sample over the whole run, which includes every load phase.
CPU time (user + system) is read before and after a run: CPU milliseconds per message hardly depend on what else
the machine runs, unlike rates and latencies, so they are the figure to compare before and after a change."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil


def rss_bytes(pid: int) -> int:
    """RSS of ``pid`` and its descendants; 0 once it is gone."""
    try:
        process = psutil.Process(pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` and its descendants; 0 once it is gone."""
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0.0


class CpuMeter:
    """CPU seconds each process used between ``__enter__`` and ``__exit__``."""

    def __init__(self, processes: dict[str, int]):
        self._processes = processes
        self._start: dict[str, float] = {}
        self.used_s: dict[str, float] = {}

    def __enter__(self) -> "CpuMeter":
        self._start = {label: cpu_seconds(pid) for label, pid in self._processes.items()}
        return self

    def __exit__(self, *_exc: object) -> None:
        self.used_s = {label: cpu_seconds(pid) - self._start[label] for label, pid in self._processes.items()}

    def ms_per(self, count: int) -> dict[str, float]:
        return {label: 1000 * seconds / count for label, seconds in self.used_s.items()}


@dataclass
class ProcessMemory:
    label: str
    pid: int
    idle_bytes: int = 0
    peak_bytes: int = 0


class MemorySampler:
    def __init__(self, interval_s: float = 0.1):
        self._interval_s = interval_s
        self._watched: dict[str, ProcessMemory] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def watch(self, label: str, pid: int) -> None:
        """Start sampling ``pid``; its idle figure is taken now (call after it settled)."""
        idle = rss_bytes(pid)
        with self._lock:
            self._watched[label] = ProcessMemory(label, pid, idle, idle)

    def results(self) -> list[ProcessMemory]:
        with self._lock:
            self._sample()
            return list(self._watched.values())

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            with self._lock:
                self._sample()

    def _sample(self) -> None:
        for entry in self._watched.values():
            entry.peak_bytes = max(entry.peak_bytes, rss_bytes(entry.pid))
