"""Run a Ketalink worker module with an HTTP port for Kubernetes probes and Prometheus:
``python -m ketalink_worker services.<name>.worker``.

The worker process (the Kafka consumer and the outbox relay, ``shared.runtime.run_worker``) has no web server of
its own, yet the consumer and outbox metrics exist only in it. This wrapper serves, on WORKER_METRICS_PORT (9100):
- /healthz and /readyz: 200 while the worker's threads are alive (the outbox relay and, once started, the
  consumer), 503 before they start or after one of them died;
- /metrics: this process's Prometheus registry.
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

from prometheus_client import make_wsgi_app

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


def health_app(health: WorkerHealth) -> Callable:  # type: ignore[type-arg]
    metrics = make_wsgi_app()

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO") in ("/healthz", "/readyz"):
            problem = health.problem()
            status = "503 Service Unavailable" if problem else "200 OK"
            body = (problem or "ok").encode()
            start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(environ, start_response)
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
