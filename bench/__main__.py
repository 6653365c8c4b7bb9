"""``python -m bench`` (``make bench``): start a broker, the EHR sandbox and the services as local processes, run
every phase once, print the tables and save them as JSON under var/bench/. See docs/performance.md for what each
row measures. ``python -m bench --help`` lists the parameters; ``python -m bench.group_join`` is a separate tool."""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from bench.config import parse
from bench.context import run_context
from bench.phases import PHASE_FUNCTIONS
from bench.profiling import summarize
from bench.report import Report, machine_facts


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    report = Report(machine=machine_facts(), parameters={
        "messages": config.messages, "one_by_one": config.one_by_one, "raw_messages": config.raw_messages,
        "clients": config.clients, "iterations": config.iterations, "partitions": config.partitions,
        "broker": config.broker, "database": config.database})
    started = time.monotonic()
    failed = False
    try:
        with run_context(config, report) as context:
            for phase in config.phases:
                print(f"[bench] {phase} ...", file=sys.stderr, flush=True)
                phase_started = time.monotonic()
                try:
                    PHASE_FUNCTIONS[phase](context)
                except Exception as error:  # noqa: BLE001 - one failed phase must not lose the others' rows
                    failed = True
                    report.notes.append(f"phase {phase} FAILED: {type(error).__name__}: {error}")
                    traceback.print_exc()
                print(f"[bench] {phase} done in {time.monotonic() - phase_started:.0f} s", file=sys.stderr,
                      flush=True)
    except KeyboardInterrupt:
        print("[bench] interrupted; every process started was stopped", file=sys.stderr)
        return 130
    report.seconds = time.monotonic() - started
    print(report.render())
    saved = report.save(config.out_dir)
    print(f"\nSaved {saved}")
    if config.profile:
        for profile in sorted(Path(config.out_dir).glob("profile-*.txt")):
            if profile.stat().st_mtime >= time.time() - report.seconds - 5:
                print("\n" + summarize(profile, top=15))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
