"""The sandbox EHR's SMART App Launch 2.x authorization server, served by the FHIR server's own process.

``mount(app, ...)`` puts its routes in front of SEKMET's (whose own ``/fhir/.well-known/smart-configuration``
speaks of backend services only) in the FastAPI app, through a WSGI adapter: the pages and OAuth endpoints are a
small Flask app built on Authlib's authorization server."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from a2wsgi import WSGIMiddleware
from starlette.routing import Route

from deploy.ehr_sandbox.smart.directory import Directory
from deploy.ehr_sandbox.smart.server import SmartServer
from deploy.ehr_sandbox.smart.settings import SmartServerSettings
from deploy.ehr_sandbox.smart.store import AuthStore
from deploy.ehr_sandbox.smart.web import create_auth_app
from shared.fhir.client import FhirClient

#: Paths the authorization server answers; everything else stays SEKMET's.
PATHS = ("/fhir/.well-known/smart-configuration", "/smart/{rest:path}", "/chart", "/chart/{rest:path}")


def mount(app: Any, settings: SmartServerSettings, fhir_base_url: str, data_dir: Path) -> None:
    """Serve the SMART endpoints and the chart from ``app`` (SEKMET's FastAPI app), ahead of its own routes."""
    store = AuthStore(data_dir / "smart")
    server = SmartServer(settings, store, fhir_base_url.rstrip("/"))
    directory = Directory(FhirClient(fhir_base_url))
    wsgi = WSGIMiddleware(create_auth_app(server, directory, data_dir / "smart" / "session-secret"))
    app.router.routes[0:0] = [Route(path, endpoint=wsgi, methods=["GET", "POST"]) for path in PATHS]
