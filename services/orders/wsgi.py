"""gunicorn entry point (``services.orders.wsgi:app``): the web part only; ``services.orders.worker`` runs the rest."""
from shared.runtime import wsgi_app
from services.orders.bootstrap import build

app = wsgi_app("orders", build)
