"""The sandbox EHR's SMART App Launch 2.x authorization server, served by the FHIR server's own process.

``mount(app, ...)`` puts its routes in front of SEKMET's (whose own ``/fhir/.well-known/smart-configuration``
speaks of backend services only) in the FastAPI app, through a WSGI adapter: the pages and OAuth endpoints are a
small Flask app built on Authlib's authorization server."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.routing import Route

from deploy.ehr_sandbox.order_entry.settings import OrderEntrySettings
from deploy.ehr_sandbox.order_entry.wiring import install_order_entry
from deploy.ehr_sandbox.smart.backend import FhirBearerGuard, InternalTokens, backend_key_dir, backend_registrations
from deploy.ehr_sandbox.smart.directory import Directory
from deploy.ehr_sandbox.smart.server import SmartServer
from deploy.ehr_sandbox.smart.settings import SmartServerSettings
from deploy.ehr_sandbox.smart.store import AuthStore
from deploy.ehr_sandbox.smart.web import create_auth_app
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.client import FhirClient

#: Paths the authorization server answers; everything else stays SEKMET's.
PATHS = ("/fhir/.well-known/smart-configuration", "/smart/{rest:path}", "/chart", "/chart/{rest:path}")


def authorization_server(settings: SmartServerSettings, fhir_base_url: str, data_dir: Path,
                         public_url: str | None = None) -> SmartServer:
    """The authorization server, its state in ``<data_dir>/smart`` and its backend clients' keys (made if missing).
    ``public_url``: where it answers when that is not the FHIR server's root (``SmartServer``)."""
    backend_clients = backend_registrations(backend_key_dir(data_dir), settings.backend_clients)
    return SmartServer(settings, AuthStore(data_dir / "smart"), fhir_base_url.rstrip("/"), backend_clients,
                       public_url)


def mount(app: Any, server: SmartServer, data_dir: Path,
          order_entry: tuple[OrderEntrySettings, KafkaSettings] | None = None) -> None:
    """Serve the SMART endpoints and the chart from ``app`` (SEKMET's FastAPI app), ahead of its own routes, and
    require the server's bearer tokens on everything else (``backend.FhirBearerGuard``). ``order_entry``: the
    chart's order entry (``deploy/ehr_sandbox/order_entry``) with its settings and the broker it places orders on."""
    directory = Directory(FhirClient(server.fhir_base_url, tokens=InternalTokens(server)))
    flask_app = create_auth_app(server, directory, data_dir / "smart" / "session-secret")
    if order_entry is not None and order_entry[0].enabled:
        install_order_entry(flask_app, server, directory, data_dir, *order_entry)
    wsgi = WSGIMiddleware(flask_app)
    app.router.routes[0:0] = [Route(path, endpoint=wsgi, methods=["GET", "POST"]) for path in PATHS]
    app.add_middleware(FhirBearerGuard, server=server)


def standalone_app(server: SmartServer, data_dir: Path,
                   order_entry: tuple[OrderEntrySettings, KafkaSettings] | None = None) -> Starlette:
    """The SMART endpoints and the chart alone, for a sandbox in front of another FHIR server (``make test-hapi``):
    the tokens name that server's base as issuer and audience; whether it checks them is that server's business."""
    app = Starlette()
    mount(app, server, data_dir, order_entry)
    return app
