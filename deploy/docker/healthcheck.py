"""Docker HEALTHCHECK for both kinds of container: exit 0 when http://127.0.0.1:PORT/healthz answers 200.

PORT is WORKER_METRICS_PORT in a worker container (ketalink_worker.py serves it) and HTTP_PORT (gunicorn)
otherwise; an argument overrides both. Kubernetes ignores HEALTHCHECK and uses the Deployment's probes instead.
"""
import os
import sys
import urllib.request

port = (sys.argv[1] if len(sys.argv) > 1 else None) or os.environ.get("WORKER_METRICS_PORT") \
    or os.environ.get("HTTP_PORT") or "8000"
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:  # noqa: S310
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # noqa: BLE001 - any failure means unhealthy
    print(f"unhealthy: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
