"""``python -m services.documentation.worker``: the Kafka consumer and outbox relay, without the web server."""
from services.documentation.bootstrap import build
from shared.runtime import run_worker

if __name__ == "__main__":
    run_worker("documentation", build)
