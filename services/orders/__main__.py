"""``python -m services.orders``: web server and worker in one process (the local stack, ``make run``)."""
from services.orders.bootstrap import build
from shared.runtime import main

if __name__ == "__main__":
    main("orders", build)
