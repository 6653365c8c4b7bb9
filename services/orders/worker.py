"""``python -m services.orders.worker``: the Kafka consumer and outbox relay, without the web server."""
from shared.runtime import run_worker
from services.orders.bootstrap import build

if __name__ == "__main__":
    run_worker("orders", build)
