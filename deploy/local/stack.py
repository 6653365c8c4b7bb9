"""``make run``: start the whole local stack under one supervisor (honcho): the broker, the EHR sandbox and the
three services, on configured or free ports; print the URLs once everything answers; Ctrl-C stops it all.

``KAFKA_BOOTSTRAP_SERVERS`` set → that broker is used and none is started; ``EHR_FHIR_BASE_URL`` set → that EHR is
used and the sandbox is not started."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from deploy.ehr_sandbox.order_entry.settings import CDS_CLIENT_JWKS_PATH
from deploy.ehr_sandbox.smart.backend import backend_key_dir, ensure_backend_keys
from deploy.ehr_sandbox.smart.settings import DEFAULT_BACKEND_CLIENTS
from deploy.local.ports import choose_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "orders", "documentation")
LOCAL_CLINIC_TIMEZONE = "America/Chicago"  # the demo clinic's zone; set KETALINK_CLINIC_TIMEZONE for another
DEFAULT_PORTS = {"broker": 9092, "ehr": 8090, "intake": 8101, "orders": 8102, "documentation": 8103}


def stack_environment(environ: dict[str, str]) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """(environment for honcho, process names to start, name → URL to show)."""
    env = dict(environ)
    processes: list[str] = []
    urls: dict[str, str] = {}
    env.setdefault("PYTHONPATH", str(ROOT))
    # The Procfile says `python`: the one running this script (the project's .venv), not whatever PATH finds first.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    env.setdefault("KAFKA_SESSION_TIMEOUT_MS", "2000")  # embedded broker: group join waits session / 2
    env.setdefault("KAFKA_HEARTBEAT_INTERVAL_MS", "500")
    env.setdefault("KAFKA_MAX_POLL_INTERVAL_MS", "30000")  # embedded broker: a vanished joiner blocks joins this long
    # The clinic's zone is required (shared/clinic_time.py); the local stack names the demo clinic's explicitly.
    env.setdefault("KETALINK_CLINIC_TIMEZONE", LOCAL_CLINIC_TIMEZONE)
    # A developer's machine: the services answer any Host here (elsewhere PUBLIC_BASE_URL is required, shared/edge.py).
    env.setdefault("KETALINK_LOCAL_RUN", "true")
    if not environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        broker_port = choose_port(environ.get("BROKER_PORT"), DEFAULT_PORTS["broker"])
        env["BROKER_PORT"] = str(broker_port)
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{broker_port}"
        processes.append("broker")
    urls["broker"] = f"kafka://{env['KAFKA_BOOTSTRAP_SERVERS']}"
    if environ.get("EHR_FHIR_BASE_URL"):
        # Another FHIR server: the sandbox process only seeds it and plays the integration engine in front of it,
        # and serves the SMART endpoints and the chart on a port of its own.
        env["EHR_SANDBOX_FHIR_BASE_URL"] = environ["EHR_FHIR_BASE_URL"]
        env["EHR_SANDBOX_PORT"] = str(choose_port(environ.get("EHR_SANDBOX_PORT"), DEFAULT_PORTS["ehr"]))
    else:
        ehr_port = choose_port(environ.get("EHR_SANDBOX_PORT"), DEFAULT_PORTS["ehr"])
        env["EHR_SANDBOX_PORT"] = str(ehr_port)
        env["EHR_FHIR_BASE_URL"] = f"http://127.0.0.1:{ehr_port}/fhir"
        urls["chart"] = f"http://127.0.0.1:{ehr_port}/chart"  # start here: launch each app for a patient
        # The sandbox's FHIR API requires a token: each service reads as its own backend client, whose key the
        # sandbox registers (made in its data directory by main(), before anything starts).
        key_dir = backend_key_dir(Path(env.setdefault("EHR_SANDBOX_DATA_DIR", "var/ehr")))
        for service in SERVICES:
            env.setdefault(f"{service.upper()}_EHR_BACKEND_PRIVATE_KEY_FILE",
                           str(key_dir / f"ketalink-{service}-backend.pem"))
    processes.append("ehr")
    urls["ehr"] = env["EHR_FHIR_BASE_URL"]
    for service in SERVICES:
        key = f"{service.upper()}_PORT"
        port = choose_port(environ.get(key), DEFAULT_PORTS[service])
        env[key] = str(port)
        env.setdefault(f"{service.upper()}_DATABASE_URL", f"sqlite:///{ROOT / 'var' / f'{service}.db'}")
        processes.append(service)
        urls[service] = f"http://127.0.0.1:{port}"
    # The sandbox's order entry calls orders' CDS Hooks as a CDS client, signing each call with its own key, whose
    # key set it serves (deploy/ehr_sandbox/order_entry): orders trusts that iss with that key set URL.
    ehr_root = f"http://127.0.0.1:{env['EHR_SANDBOX_PORT']}"
    env.setdefault("ORDERS_CDS_TRUSTED_ISSUERS",
                   json.dumps({ehr_root: {"jwks_url": f"{ehr_root}{CDS_CLIENT_JWKS_PATH}"}}))
    # Each app's "not in the EHR" page links the others' (shared/ui/ehr_status.py skips its own).
    env.setdefault("KETALINK_EHR_STATUS_PEERS", ",".join(urls[service] for service in SERVICES))
    return env, processes, urls


def wait_until_ready(urls: dict[str, str], started: float, stop: threading.Event) -> None:
    checks = {name: url + "/readyz" for name, url in urls.items() if name in SERVICES}
    checks["ehr"] = urls["ehr"] + "/metadata"
    while not stop.is_set() and checks:
        for name, url in list(checks.items()):
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    del checks[name]
            except requests.RequestException:
                pass
        stop.wait(0.3)
    if stop.is_set():
        return
    lines = [f"\nKetalink is ready in {time.monotonic() - started:.1f} s:"]
    lines += [f"  {name:<18} {url}" for name, url in urls.items() if name != "chart"]
    lines += [f"  {name + ' API':<18} {urls[name]}/openapi.json" for name in SERVICES]
    if "chart" in urls:
        lines.append(f"\nOpen the EHR chart and launch an app for a patient: {urls['chart']}"
                     "\n  (sign in as nurse.ng or dr.okoye, password ketalink-sandbox)")
        lines += user_launch_lines(urls)
    lines.append("Press Ctrl-C to stop everything.\n")
    print("\n".join(lines), flush=True)


def user_launch_lines(urls: dict[str, str]) -> list[str]:
    """The launches without a patient (``/launch/user/<view>``, SMART standalone with user-level scopes): the suite
    board for a wall screen, and each service's operations page."""
    return [f"The suite board (a wall screen; sign in as nurse.ng): {urls['documentation']}/launch/user/board",
            "The operations pages (sign in as ops.kim): "
            + "  ".join(f"{urls[service]}/launch/user/ops" for service in SERVICES)]


def main() -> None:
    started = time.monotonic()
    try:
        env, processes, urls = stack_environment(dict(os.environ))
    except ValueError as error:
        sys.exit(f"make run: {error}")
    (ROOT / "var").mkdir(exist_ok=True)
    if "chart" in urls:  # the sandbox runs here: its backend clients' keys exist before the services start
        ensure_backend_keys(backend_key_dir(ROOT / env["EHR_SANDBOX_DATA_DIR"]), DEFAULT_BACKEND_CLIENTS)
    honcho = [sys.executable, "-m", "honcho", "-f", str(ROOT / "deploy" / "local" / "Procfile"),
              "-d", str(ROOT), "start", *processes]
    # honcho runs in a session of its own, so Ctrl-C reaches only this script, which asks honcho once to stop
    # everything (SIGTERM to each process, then SIGKILL to what is still running after its grace period).
    requested = record_stop_requests()
    process = subprocess.Popen(honcho, env=env, cwd=ROOT, start_new_session=True)
    stop = threading.Event()
    threading.Thread(target=wait_until_ready, args=(urls, started, stop), daemon=True).start()
    code = run_until_stopped(process, stop, requested)
    sys.exit(code)


def record_stop_requests() -> list[int]:
    """Make SIGINT and SIGTERM only record the request (the signal numbers, in order) and return that record.

    Acting inside a handler (setting an Event, which takes a lock, or signalling honcho) can deadlock when a second
    signal arrives while the first handler holds that lock, and then nothing is ever stopped; ``run_until_stopped``
    acts on the record instead. Installed before anything starts, so a Ctrl-C during the start is kept too."""
    requested: list[int] = []

    def _record(signum: int, _frame: object) -> None:
        requested.append(signum)  # a list append takes no lock a re-entered handler could wait on

    signal.signal(signal.SIGINT, _record)
    signal.signal(signal.SIGTERM, _record)
    return requested


def run_until_stopped(process: subprocess.Popen[bytes], stop: threading.Event, requested: list[int],
                      poll_s: float = 0.2) -> int:
    """Wait for honcho; once a stop is ``requested`` (once, or many times) ask it once to stop everything."""
    asked = False
    while True:
        try:
            return process.wait(timeout=poll_s)
        except subprocess.TimeoutExpired:
            pass
        if requested and not asked:
            asked = True
            stop.set()
            print("\nStopping Ketalink...", flush=True)
            process.send_signal(signal.SIGTERM)


if __name__ == "__main__":
    main()
