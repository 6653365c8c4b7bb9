"""``python -m services.intake``: web server and worker in one process (the local stack, ``make run``)."""
from services.intake.bootstrap import build
from shared.runtime import main

if __name__ == "__main__":
    main("intake", build)
