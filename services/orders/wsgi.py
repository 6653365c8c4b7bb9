"""gunicorn entry point (``services.orders.wsgi:app``): the web part only; ``services.orders.worker`` runs the rest."""
from services.orders.bootstrap import build
from shared.runtime import wsgi_app

app = wsgi_app("orders", build)
