"""``make run`` stops on repeated SIGINT/SIGTERM (issue 16): its handler only records the request and the main
loop asks honcho once to stop, so a burst of signals can never leave the stack running. Real processes: a parent
running ``run_until_stopped`` around a child that stands in for honcho and exits on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PARENT = textwrap.dedent("""
    import subprocess, sys, threading
    from deploy.local.stack import record_stop_requests, run_until_stopped
    requested = record_stop_requests()
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], start_new_session=True, stdout=subprocess.PIPE)
    child.stdout.readline()  # the child's SIGTERM handler is in place
    print("ready", flush=True)
    sys.exit(run_until_stopped(child, threading.Event(), requested, poll_s=0.05))
""")
# Stands in for honcho: counts the SIGTERMs it is sent, exits 3 on the first after a short grace.
CHILD = textwrap.dedent("""
    import signal, sys, time
    def stop(signum, frame):
        time.sleep(0.3)
        sys.exit(3)
    signal.signal(signal.SIGTERM, stop)
    print("child ready", flush=True)
    time.sleep(60)
""")


def test_a_burst_of_signals_stops_the_stack_once() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        for _ in range(50):  # signals arriving while an earlier one is being handled
            parent.send_signal(signal.SIGTERM)
            parent.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert parent.wait(timeout=10) == 3  # honcho's exit code, after it stopped everything
        assert time.monotonic() - started < 10
        assert "Stopping Ketalink" in parent.stdout.read()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
