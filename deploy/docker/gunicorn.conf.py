"""gunicorn settings for every Ketalink web container (``gunicorn --config /app/gunicorn.conf.py
services.<name>.wsgi:app``; without an app argument, ``services.$KETALINK_SERVICE.wsgi:app``).

- No ``preload_app``: each gunicorn worker imports the app itself, after the fork, so its database pool (and any
  Kafka client, should the web part ever need one: kafka-python's threads do not survive ``fork()``) is its own.
  The Kafka consumer and the outbox relay are not in this process at all; they run in the worker Deployment.
- One process with threads by default: Prometheus counters live per process, so a single process keeps /metrics
  whole. Scale with pods (the HorizontalPodAutoscaler), not with ``WEB_CONCURRENCY``; if you do raise it, /metrics
  shows one process per scrape until the app uses prometheus_client's multiprocess mode.
- Everything it writes is outside the read-only root filesystem: heartbeat files in /dev/shm, no control socket.
- Binds HTTP_HOST:HTTP_PORT, the same variables the application reads.
"""
import os

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
