"""The benchmark's parameters: command-line flags, each defaulting to a ``BENCH_*`` environment variable, so
``make bench BENCH_MESSAGES=500`` and ``python -m bench --messages 500`` do the same."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

PHASES = ("raw", "intake", "orders", "documentation", "api", "cds", "scaling")


@dataclass(frozen=True)
class BenchConfig:
    messages: int  # inbound messages per throughput run
    one_by_one: int  # inbound messages timed one at a time (latency)
    raw_messages: int  # records per raw broker throughput run
    clients: int  # concurrent API clients
    iterations: int  # timed requests per API client
    partitions: int  # partitions of every topic the bench creates
    broker: str  # tansu | kafka
    database: str  # sqlite (as make run) | postgres (as the production deployment), for the services' stores
    phases: tuple[str, ...]
    profile: bool
    out_dir: Path
    keep: bool  # keep the temporary directory (server logs) after the run
    timeout_s: float  # the longest one throughput run may take


def parse(argv: list[str] | None = None) -> BenchConfig:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=int(env("BENCH_MESSAGES", "200")))
    parser.add_argument("--one-by-one", type=int, default=int(env("BENCH_ONE_BY_ONE", "40")))
    parser.add_argument("--raw-messages", type=int, default=int(env("BENCH_RAW_MESSAGES", "2000")))
    parser.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "8")))
    parser.add_argument("--iterations", type=int, default=int(env("BENCH_ITERATIONS", "25")))
    parser.add_argument("--partitions", type=int, default=int(env("BENCH_PARTITIONS", "4")))
    parser.add_argument("--broker", choices=("tansu", "kafka"), default=env("BENCH_BROKER", "tansu"))
    parser.add_argument("--database", choices=("sqlite", "postgres"), default=env("BENCH_DATABASE", "sqlite"),
                        help="the services' store in every phase but the 1-vs-2 consumers (always PostgreSQL)")
    parser.add_argument("--only", default=env("BENCH_ONLY", ",".join(PHASES)),
                        help=f"comma-separated phases among {', '.join(PHASES)}")
    parser.add_argument("--profile", action="store_true", default=env("BENCH_PROFILE", "") not in ("", "0"),
                        help="sample the services with py-spy during the load phases (var/bench/profile-*.txt)")
    parser.add_argument("--out", default=env("BENCH_OUT", "var/bench"))
    parser.add_argument("--keep", action="store_true", default=env("BENCH_KEEP", "") not in ("", "0"),
                        help="keep the temporary directory with every server's log")
    parser.add_argument("--timeout", type=float, default=float(env("BENCH_TIMEOUT", "300")))
    args = parser.parse_args(argv)
    phases = tuple(p.strip() for p in args.only.split(",") if p.strip())
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phase(s) {unknown}; choose among {PHASES}")
    for name in ("messages", "one_by_one", "raw_messages", "clients", "iterations", "partitions"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return BenchConfig(args.messages, args.one_by_one, args.raw_messages, args.clients, args.iterations,
                       args.partitions, args.broker, args.database, phases, args.profile, Path(args.out), args.keep,
                       args.timeout)
