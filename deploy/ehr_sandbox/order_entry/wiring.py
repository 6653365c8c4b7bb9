"""Order entry put together for the sandbox's chart app: its CDS client (the sandbox's ``iss`` is its web root, its
key set at ``/smart/cds-client-jwks``), the ``fhirAuthorization`` tokens its authorization server signs, the
order placer on the broker, and the store of entries and of the orders service's answers (``entries.py``)."""
from __future__ import annotations

import time
from pathlib import Path

from authlib.common.security import generate_token
from flask import Flask
from joserfc import jwt

from deploy.ehr_sandbox.order_entry import web
from deploy.ehr_sandbox.order_entry.answers import STORE_FILE
from deploy.ehr_sandbox.order_entry.cds_client import CLIENT_ID, CdsClient, signing_key
from deploy.ehr_sandbox.order_entry.entries import Entries
from deploy.ehr_sandbox.order_entry.placement import OrderPlacer
from deploy.ehr_sandbox.order_entry.settings import CDS_CLIENT_JWKS_PATH, OrderEntrySettings
from deploy.ehr_sandbox.smart.backend import InternalTokens
from deploy.ehr_sandbox.smart.directory import Directory
from deploy.ehr_sandbox.smart.server import SmartServer
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.client import FhirClient

def cds_client_iss(server: SmartServer) -> str:
    return server.public_url


def cds_client_jwks_url(server: SmartServer) -> str:
    return f"{server.public_url}{CDS_CLIENT_JWKS_PATH}"


def install_order_entry(app: Flask, server: SmartServer, directory: Directory, data_dir: Path,
                        settings: OrderEntrySettings, kafka: KafkaSettings) -> None:
    from deploy.ehr_sandbox.smart.web import _check_csrf, _csrf, _signed_in

    def fhir_token(scope: str) -> str:
        """A short-lived access token for the CDS service's reads, as the authorization server issues to backend
        clients: the FHIR base as audience, the scopes asked for only."""
        now = int(time.time())
        claims = {"iss": server.issuer, "aud": server.fhir_base_url, "sub": CLIENT_ID, "client_id": CLIENT_ID,
                  "scope": scope, "iat": now, "exp": now + settings.token_lifetime_s, "jti": generate_token(24)}
        key = server.store.signing_key
        return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key)

    fhir = FhirClient(server.fhir_base_url, tokens=InternalTokens(server))
    client = CdsClient(settings.cds_url, cds_client_iss(server), signing_key(data_dir / "smart" / "cds-client.pem"),
                       fhir, server.fhir_base_url, fhir_token, settings.http_timeout_s, settings.token_lifetime_s)
    entries = Entries(data_dir / STORE_FILE, settings.entry_lifetime_s, settings.placed_kept_days)
    web.install(app, settings, client, OrderPlacer(fhir, kafka), entries, directory, _signed_in, _csrf, _check_csrf,
                {client_id: registration.launch_url for client_id, registration in server.apps.items()})
