"""Run a Ketalink worker module with an HTTP port for Kubernetes probes and Prometheus:
``python -m ketalink_worker services.<name>.worker``.

The worker process (the Kafka consumer and the outbox relay, ``shared.runtime.run_worker``) has no web server of
its own, yet the consumer and outbox metrics exist only in it. This wrapper serves, on WORKER_METRICS_PORT (9100):
- /healthz (liveness): 200 while the worker's threads are alive (the outbox relay and, once started, the
  consumer), 503 before they start or after one of them died;
- /readyz (readiness): as /healthz, and also 503 while a component does no work: a consumer that has not joined,
  fetched or committed for KETALINK_WORKER_STALL_AFTER_S (a broker it cannot reach, refused credentials, a missing
  ACL, a wrong CA, a stalled group join), or an outbox relay that cannot send its backlog for that long
  (``shared/events/consumer_health.py``); 200 again as soon as it recovers. A restart cures none of those, so
  liveness does not include them;
- /metrics: this process's Prometheus registry (consumer lag, outbox backlog, readiness by component...).
The worker module then runs in the main thread exactly as ``python -m`` would run it (signals included).
"""
from __future__ import annotations

import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shared.events.consumer_health import WORKER_HEALTH
from shared.metrics import exposition

RELAY_THREAD = "outbox-relay"  # OutboxRelay.start in shared/events/outbox.py
CONSUMER_THREAD_SUFFIX = "-consumer"  # ServiceRuntime.start_worker names its ConsumerLoop "<service>-consumer"
DEFAULT_PORT = 9100


class WorkerHealth:
    """Remembers which worker threads it has seen, so a thread that disappears is noticed."""

    def __init__(self, threads: Callable[[], Iterable[threading.Thread]] = threading.enumerate):
        self._threads = threads
        self._seen: set[str] = set()

    def problem(self) -> str | None:
        alive = {thread.name for thread in self._threads() if thread.is_alive()}
        watched = {name for name in alive if name == RELAY_THREAD or name.endswith(CONSUMER_THREAD_SUFFIX)}
        self._seen |= watched
        if not self._seen:
            return "worker not started yet"
        missing = sorted(self._seen - alive)
        return f"worker thread stopped: {', '.join(missing)}" if missing else None

    def readiness_problem(self) -> str | None:
        """A dead thread, or a component that has done no work for longer than the stall threshold."""
        problems = [self.problem(), *WORKER_HEALTH.problems()]
        return "; ".join(problem for problem in problems if problem) or None


def health_app(health: WorkerHealth) -> Callable:  # type: ignore[type-arg]
    def app(environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO")
        if path in ("/healthz", "/readyz"):
            problem = health.problem() if path == "/healthz" else health.readiness_problem()
            status = "503 Service Unavailable" if problem else "200 OK"
            body = (problem or "ok").encode()
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/metrics":
            body, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass  # probes every few seconds would drown the worker's own logs


def serve_health(port: int, health: WorkerHealth) -> WSGIServer:
    server = make_server("0.0.0.0", port, health_app(health), server_class=_Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="health-server", daemon=True).start()
    return server


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: python -m ketalink_worker services.<name>.worker [args...]")
    module = sys.argv[1]
    serve_health(int(os.environ.get("WORKER_METRICS_PORT") or DEFAULT_PORT), WorkerHealth())
    sys.argv = sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
