"""Rates and latency percentiles, computed the same way for every row so the rows can be compared."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually observed, so p99 of 50 samples is the
    largest but one, never an interpolation between two."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    """Latencies in milliseconds."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of_seconds(cls, seconds: Sequence[float]) -> "Latency":
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 99), max(ms) if ms else math.nan)


@dataclass(frozen=True)
class Throughput:
    """``count`` messages done between the first one sent and the last one done."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @classmethod
    def between(cls, first_sent: float, done_times: Sequence[float]) -> "Throughput":
        return cls(len(done_times), (max(done_times) - first_sent) if done_times else math.nan)
