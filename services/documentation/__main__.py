"""``python -m services.documentation``: web server and worker in one process (the local stack, ``make run``)."""
from services.documentation.bootstrap import build
from shared.runtime import main

if __name__ == "__main__":
    main("documentation", build)
