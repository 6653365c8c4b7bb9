"""SMART Backend Services at the sandbox EHR, and the bearer token its FHIR API requires.

- Backend clients (``EHR_SANDBOX_SMART_BACKEND_CLIENTS``): each has an EC P-384 key in
  ``<data dir>/smart/backend-keys/<client_id>.pem``, made on first start (``ensure_backend_keys``, which the local
  stack and the test fixtures call too, before the services start) and registered by its public part. A client gets a
  token by the ``client_credentials`` grant, authenticating with ``private_key_jwt`` (checked by the server's
  ``PrivateKeyJwt``: RS384/ES384, ``exp`` within five minutes, single-use ``jti``), for ``system/`` scopes only.
- ``FhirBearerGuard``: every request to the FHIR API (and to SEKMET's own pages, which show records) needs
  ``Authorization: Bearer`` with an access token this server issued for the FHIR base, user or backend; otherwise 401
  with an OperationOutcome and ``WWW-Authenticate: Bearer``. ``/fhir/metadata``, the smart-configuration, the SMART
  endpoints and the chart stay open. A token whose scopes grant no write is refused writes (403).
- ``InternalTokens``: the sandbox's own parts (seeding, the integration engine, the chart's directory) sign their own
  ``system/*.cruds`` token with the server's key, in process, instead of a round trip to the token endpoint.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, InvalidScopeError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry

from shared.smart.oauth import ClientKey
from shared.smart.scopes import ScopeContext, parse_scope

if TYPE_CHECKING:
    from deploy.ehr_sandbox.smart.server import SmartServer

INTERNAL_CLIENT_ID = "ehr-sandbox"
INTERNAL_SCOPE = "system/*.cruds"
INTERNAL_TOKEN_LIFETIME_S = 300
#: Paths served without a token: the capability statement and SMART discovery (SMART says so), the authorization
#: server itself and the chart page (a clinician's browser, which signs in there).
OPEN_PATHS = ("/fhir/metadata", "/fhir/.well-known/smart-configuration")
OPEN_PREFIXES = ("/smart/", "/chart")
READ_METHODS = ("GET", "HEAD", "OPTIONS")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def backend_key_dir(data_dir: Path) -> Path:
    return data_dir / "smart" / "backend-keys"


def ensure_backend_keys(key_dir: Path, client_ids: Iterable[str]) -> dict[str, Path]:
    """Each client's private key file (PEM, EC P-384, mode 0600), made when missing; client id → path."""
    key_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for client_id in client_ids:
        path = key_dir / f"{client_id}.pem"
        if not path.exists():
            key = ECKey.generate_key("P-384", private=True)
            path.touch(mode=0o600)
            path.write_bytes(key.as_pem(private=True))
        paths[client_id] = path
    return paths


@dataclass(frozen=True)
class BackendRegistration:
    client_id: str
    jwks: dict[str, Any] = field(default_factory=dict)
    jwks_uri: str = ""


def backend_registrations(key_dir: Path, client_ids: Iterable[str]) -> dict[str, BackendRegistration]:
    return {client_id: BackendRegistration(client_id, ClientKey.from_file(str(path)).public_jwks())
            for client_id, path in ensure_backend_keys(key_dir, client_ids).items()}


def system_scope(scope: str) -> bool:
    parsed = parse_scope(scope)
    return parsed is not None and parsed.context is ScopeContext.SYSTEM


class BackendClient(ClientMixin):
    """Authlib's view of a backend client: ``private_key_jwt`` only, ``client_credentials`` only, system scopes."""

    def __init__(self, registration: BackendRegistration):
        self.registration = registration

    def get_client_id(self) -> str:
        return self.registration.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope_to_list(scope or "") if system_scope(s))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "private_key_jwt"

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """SMART Backend Services: a registered backend client, ``private_key_jwt``, and ``system/`` scopes only."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt"]

    def validate_requested_scope(self) -> None:
        requested = scope_to_list(self.request.payload.scope or "")
        if not requested:
            raise InvalidRequestError("scope is required (system/ scopes)")
        unknown = [s for s in requested if not system_scope(s)]
        if unknown:
            raise InvalidScopeError(f"a backend client may ask only for system/ scopes, not {' '.join(unknown)}")


class InternalTokens:
    """The sandbox's own ``system/*.cruds`` token, signed in process (``shared.fhir.client.AccessTokens``)."""

    def __init__(self, server: "SmartServer"):
        self._server = server
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._renew_at:
                now = int(time.time())
                claims = {"iss": self._server.issuer, "aud": self._server.fhir_base_url, "sub": INTERNAL_CLIENT_ID,
                          "client_id": INTERNAL_CLIENT_ID, "scope": INTERNAL_SCOPE, "iat": now,
                          "exp": now + INTERNAL_TOKEN_LIFETIME_S, "jti": generate_token(24)}
                key = self._server.store.signing_key
                self._token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key)
                self._renew_at = now + INTERNAL_TOKEN_LIFETIME_S / 2
            return self._token

    def forget(self, access_token: str) -> None:
        with self._lock:
            if self._token == access_token:
                self._token = None


class FhirBearerGuard:
    """ASGI middleware in front of SEKMET: a bearer token this server issued, or 401/403 as an OperationOutcome."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], server: "SmartServer"):
        self.app = app
        self.server = server
        self.claims = JWTClaimsRegistry(iss={"essential": True, "value": server.issuer},
                                        aud={"essential": True, "value": server.fhir_base_url},
                                        exp={"essential": True})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _open(scope["path"]) or _cors_preflight(scope):
            await self.app(scope, receive, send)
            return
        claims = self._verified(_bearer(scope))
        if claims is None:
            await _refuse(send, 401, "login", "a bearer access token from this EHR's authorization server is "
                                              "required", 'Bearer realm="ehr-sandbox", error="invalid_token"')
            return
        if scope["method"] not in READ_METHODS and not _grants_write(str(claims.get("scope", ""))):
            await _refuse(send, 403, "forbidden", "the token's scopes allow no writes",
                          'Bearer realm="ehr-sandbox", error="insufficient_scope"')
            return
        await self.app(scope, receive, send)

    def _verified(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            claims = jwt.decode(token, self.server.store.key_set, algorithms=["RS256"]).claims
            self.claims.validate(claims)
        except (JoseError, ValueError):
            return None
        return claims


def _open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _cors_preflight(scope: Scope) -> bool:
    """A browser's CORS preflight carries no credentials; SEKMET's CORS middleware answers it."""
    return scope["method"] == "OPTIONS" and any(name == b"access-control-request-method"
                                                for name, _value in scope.get("headers", ()))


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else None
    return None


def _grants_write(scope_text: str) -> bool:
    return any((parsed := parse_scope(s)) is not None and parsed.actions & set("cud") for s in scope_text.split())


async def _refuse(send: Send, status: int, code: str, diagnostics: str, challenge: str) -> None:
    body = json.dumps({"resourceType": "OperationOutcome",
                       "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/fhir+json"), (b"www-authenticate", challenge.encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
