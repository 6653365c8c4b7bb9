"""``python -m services.intake.worker``: the Kafka consumer and outbox relay, without the web server."""
from services.intake.bootstrap import build
from shared.runtime import run_worker

if __name__ == "__main__":
    run_worker("intake", build)
