"""gunicorn entry point (``services.documentation.wsgi:app``): the web part only; ``services.documentation.worker`` runs the rest."""
from services.documentation.bootstrap import build
from shared.runtime import wsgi_app

app = wsgi_app("documentation", build)
