"""What the CDS Hooks tests share: an EHR's signing keys made by the test (a pinned JWKS file, and a JWKS URL served
by a real HTTP server), JWTs as a CDS client signs them, and hook requests."""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from deploy.local.ports import free_port
from tests.integration.orders.conftest import ORDERS_ENV
from tests.support.processes import service

PINNED_ISS = "https://ehr.example.test/pinned"
URL_ISS = "https://ehr.example.test/jwks-url"
SIGN = "ketamine-order-sign"
SELECT = "ketamine-order-select"


@dataclass
class SigningEhr:
    iss: str
    key: Any
    alg: str
    kid: str
    jku: str | None = None

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False) | {"kid": self.kid, "alg": self.alg, "use": "sig"}]}

    def token(self, aud: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.iss, "sub": "ehr-cds-client", "aud": aud, "iat": now, "exp": now + 300,
                  "jti": str(uuid.uuid4())}
        header = {"alg": self.alg, "kid": self.kid, "typ": "JWT"}
        if self.jku:
            header["jku"] = self.jku
        header |= overrides.pop("header", {})
        claims |= overrides
        for name in [n for n, v in claims.items() if v is None]:
            del claims[name]
        return jwt.encode(header, claims, self.key, algorithms=[header["alg"]])


def rsa_ehr(iss: str, kid: str = "rsa-1") -> SigningEhr:
    return SigningEhr(iss, RSAKey.generate_key(2048, parameters={"kid": kid}), "RS384", kid)


def ec_ehr(iss: str, kid: str = "ec-1") -> SigningEhr:
    return SigningEhr(iss, ECKey.generate_key("P-384", parameters={"kid": kid}), "ES384", kid)


def unsigned_token(aud: str, iss: str) -> str:
    """``alg: none``: no signature at all."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    now = int(time.time())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}." \
           f"{part({'iss': iss, 'sub': 'x', 'aud': aud, 'iat': now, 'exp': now + 300, 'jti': str(uuid.uuid4())})}."


@dataclass
class JsonServer:
    """A real HTTP server answering every GET with ``document`` and counting the requests it got."""

    document: dict[str, Any]
    hits: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    url: str = ""

    def start(self) -> str:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.hits.append(self.path)
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def hook_request(hook: str, patient_id: str, drafts: list[dict[str, Any]], *, prefetch: dict[str, Any] | None = None,
                 fhir_server: str | None = None, token: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook, "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/prescriber-1", "patientId": patient_id,
                    "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"resource": d} for d in drafts]}},
    }
    if hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
        if token:
            body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                         "scope": "user/Patient.rs user/Observation.rs", "subject": "ehr-cds-client"}
    return body


EHR_ORIGIN = "https://ehr-order-entry.example.test"


class Stack:
    """The running orders process and the EHRs that may call it."""

    def __init__(self, base_url: str, pinned: SigningEhr, by_url: SigningEhr, jwks: JsonServer,
                 elsewhere: JsonServer):
        self.base_url = base_url
        self.pinned = pinned
        self.by_url = by_url
        self.jwks = jwks
        self.elsewhere = elsewhere

    def aud(self, service_id: str = SIGN, suffix: str = "") -> str:
        return f"{self.base_url}/cds-services/{service_id}{suffix}"

    def call(self, token: str | None, body: dict[str, Any], service_id: str = SIGN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.aud(service_id), json=body, headers=headers, timeout=30)


@contextmanager
def cds_stack(broker: Any, ehr: Any, log_dir: Path, data_dir: Path,
              extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """An orders process with the SMART session check on and two trusted EHRs configured (``extra_env``: clinic
    settings of the test); the JWKS server, and a server that must never be called, beside it."""
    pinned, by_url = ec_ehr(PINNED_ISS), rsa_ehr(URL_ISS)
    jwks_file = data_dir / "pinned-jwks.json"
    jwks_file.write_text(json.dumps(pinned.public_jwks()))
    jwks = JsonServer(by_url.public_jwks())
    jwks_url = f"{jwks.start()}/jwks.json"
    by_url.jku = jwks_url
    elsewhere = JsonServer({"resourceType": "Patient", "id": "not-the-ehr"})
    elsewhere.start()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    issuers = {PINNED_ISS: {"jwks_file": str(jwks_file), "fhir_servers": [ehr.base_url]},
               URL_ISS: {"jwks_url": jwks_url}}
    process, url = service("orders", log_dir, data_dir, broker.bootstrap, ehr.base_url, port=port, label="cds",
                           extra_env=ORDERS_ENV | {
                               "SMART_AUTH_REQUIRED": "true", "SMART_ALLOWED_ISSUERS": ehr.base_url,
                               "PUBLIC_BASE_URL": base_url,
                               "ORDERS_CDS_TRUSTED_ISSUERS": json.dumps(issuers),
                               "ORDERS_CDS_ALLOWED_ORIGINS": EHR_ORIGIN} | (extra_env or {}))
    try:
        process.start()
        yield Stack(url, pinned, by_url, jwks, elsewhere)
        process.stop()
    finally:
        jwks.stop()
        elsewhere.stop()
