"""gunicorn settings for every Ketalink web container (``gunicorn --config /app/gunicorn.conf.py
services.<name>.wsgi:app``; without an app argument, ``services.$KETALINK_SERVICE.wsgi:app``).

- No ``preload_app``: each gunicorn worker imports the app itself, after the fork, so its database pool (and any
  Kafka client, should the web part ever need one: kafka-python's threads do not survive ``fork()``) is its own.
  The Kafka consumer and the outbox relay are not in this process at all; they run in the worker Deployment.
- One process with threads by default (``WEB_CONCURRENCY`` raises it). /metrics is whole whatever the count:
  prometheus_client's multiprocess mode is on under gunicorn. ``PROMETHEUS_MULTIPROC_DIR`` (default: a new directory
  in /dev/shm) is set here, in the master, before any worker imports prometheus_client; each worker writes its
  values there, /metrics sums them (``shared/metrics.py`` ``exposition``), and a worker that exits is marked dead so
  its gauges go while its counters still count. The directory is emptied at start: an earlier run's values would
  be summed in.
- Everything it writes is outside the read-only root filesystem: heartbeat files in /dev/shm, no control socket.
- Binds HTTP_HOST:HTTP_PORT, the same variables the application reads.
"""
import os
import shutil
import tempfile
from pathlib import Path

_service = os.environ.get("KETALINK_SERVICE")
if _service:
    wsgi_app = f"services.{_service}.wsgi:app"

bind = f"{os.environ.get('HTTP_HOST') or '0.0.0.0'}:{os.environ.get('HTTP_PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or "1")
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or "8")
preload_app = False
worker_tmp_dir = "/dev/shm"
control_socket_disable = True

timeout = 60  # a gunicorn worker whose main loop is silent this long is killed and replaced
graceful_timeout = 25  # SIGTERM: finish requests in flight; the pod's grace period (40 s) covers preStop + this
keepalive = 75  # longer than the ingress controller's upstream keep-alive, so it never reuses a closed connection

forwarded_allow_ips = "*"  # only the ingress controller can reach the pod (NetworkPolicy ketalink-ingress-web)
accesslog = None  # the app logs requests itself, as JSON, without PHI
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()


def _metrics_directory() -> tuple[Path, bool]:
    """The directory, and whether it is ours to remove at exit (one the operator configured is not)."""
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        return Path(configured), False
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return Path(tempfile.mkdtemp(prefix="ketalink-metrics-", dir=shm)), True


_METRICS_DIR, _METRICS_DIR_OURS = _metrics_directory()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_METRICS_DIR)  # inherited by every worker gunicorn forks


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """Before the first worker: no values of an earlier run in the directory."""
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in _METRICS_DIR.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """A worker exited (stopped, crashed or replaced): its live gauges go; its counters stay in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(_METRICS_DIR))


def on_exit(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """The master stops: a directory made here goes with it (memory in /dev/shm)."""
    if _METRICS_DIR_OURS:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
