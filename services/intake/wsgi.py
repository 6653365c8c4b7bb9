"""gunicorn entry point (``services.intake.wsgi:app``): the web part only; ``services.intake.worker`` runs the rest."""
from services.intake.bootstrap import build
from shared.runtime import wsgi_app

app = wsgi_app("intake", build)
