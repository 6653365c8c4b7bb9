"""API latency under concurrent clients: each client is a thread with its own HTTP connection that runs its
iterations back to back; only the request named in the row is timed (e.g. for order sign: the create before it
and the cancel after it are not)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bench.stats import Latency

# One iteration of one client: (its session, client number, iteration number) → seconds of the timed request.
Iteration = Callable[[requests.Session, int, int], float]


class ApiRefused(RuntimeError):
    """The API answered with an unexpected status: the row would time errors, so the run stops."""


@dataclass(frozen=True)
class ApiResult:
    latency: Latency
    requests_per_second: float  # timed requests completed per second of the whole run, all clients together


def timed(session: requests.Session, method: str, url: str, body: dict, expect: int) -> tuple[float, dict]:
    """One request: (seconds, JSON answer); ApiRefused unless the status is ``expect``."""
    started = time.perf_counter()
    answer = session.request(method, url, json=body, timeout=30)
    elapsed = time.perf_counter() - started
    if answer.status_code != expect:
        raise ApiRefused(f"{method} {url.split('/', 3)[-1]}: HTTP {answer.status_code} (expected {expect}): "
                         f"{answer.text[:300]}")
    return elapsed, answer.json()


def run_clients(clients: int, iterations: int, iteration: Iteration, warmup: int = 2) -> ApiResult:
    """``clients`` threads × ``iterations`` each (after ``warmup`` untimed iterations per client, so connection
    set-up and first-call caches are not in the figures)."""
    samples: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    began: list[float] = []
    start_line = threading.Barrier(clients, action=lambda: began.append(time.perf_counter()))

    def client(number: int) -> None:
        with requests.Session() as session:
            try:
                for n in range(warmup):
                    iteration(session, number, -1 - n)
                start_line.wait(timeout=120)
                for n in range(iterations):
                    seconds = iteration(session, number, n)
                    with lock:
                        samples.append(seconds)
            except BaseException as error:  # noqa: BLE001 - reported below, after every thread ended
                errors.append(error)
                start_line.abort()

    threads = [threading.Thread(target=client, args=(n,), name=f"bench-client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = time.perf_counter() - began[0] if began else float("nan")
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]
    return ApiResult(Latency.of_seconds(samples), len(samples) / elapsed)
