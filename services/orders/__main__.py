"""``python -m services.orders``: web server and worker in one process (the local stack, ``make run``)."""
from shared.runtime import main
from services.orders.bootstrap import build

if __name__ == "__main__":
    main("orders", build)
