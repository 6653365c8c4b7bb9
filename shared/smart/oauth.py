"""The app's side of the OAuth exchange with an EHR, through Authlib's OAuth2 client (requests): the authorization
URL with PKCE S256 and state, the code exchange, refresh and introspection; public clients, client secrets
(client_secret_basic) and ``private_key_jwt`` (RS384 or ES384, as SMART asks)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import ECKey, RSAKey

from shared.smart.discovery import SmartConfiguration
from shared.smart.settings import SmartSettings

ASSERTION_LIFETIME_S = 240  # SMART: a client assertion expires within five minutes
CODE_VERIFIER_LENGTH = 64  # RFC 7636: 43-128 unreserved characters


class TokenEndpointError(Exception):
    """The EHR refused a code exchange or refresh (``error`` is the OAuth error code)."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str


class ClientKey:
    """The private key of a ``private_key_jwt`` client: RSA keys sign RS384, EC P-384 keys ES384."""

    def __init__(self, pem: bytes):
        try:
            self.key: RSAKey | ECKey = RSAKey.import_key(pem)
            self.alg = "RS384"
        except Exception:  # noqa: BLE001 - not RSA: try EC, whose error is the one to report
            self.key = ECKey.import_key(pem)
            if self.key.curve_name != "P-384":
                raise ValueError("an EC client key must be on curve P-384 (ES384)") from None
            self.alg = "ES384"
        if not self.key.is_private:
            raise ValueError("the client key file holds no private key")
        self.kid = self.key.thumbprint()

    @classmethod
    def from_file(cls, path: str) -> "ClientKey":
        return cls(Path(path).read_bytes())

    def public_jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [public | {"kid": self.kid, "alg": self.alg, "use": "sig"}]}


class _FreshPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's ``private_key_jwt`` with a short-lived assertion, a fresh ``jti`` and the key id each time."""

    def __init__(self, client_key: ClientKey, token_endpoint: str):
        super().__init__(token_endpoint, alg=client_key.alg)
        self._client_key = client_key

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return private_key_jwt_sign(self._client_key.key, client_id=auth.client_id, token_endpoint=token_endpoint,
                                    alg=self.alg, header={"kid": self._client_key.kid, "typ": "JWT"},
                                    claims={"exp": int(time.time()) + ASSERTION_LIFETIME_S})


class SmartOAuthClient:
    def __init__(self, settings: SmartSettings, client_id: str, client_key: ClientKey | None = None):
        self._settings = settings
        self.client_id = client_id
        self.client_key = client_key

    def _session(self, configuration: SmartConfiguration, redirect_uri: str | None = None,
                 scope: str | None = None) -> OAuth2Session:
        if self.client_key is not None:
            session = OAuth2Session(self.client_id, self.client_key.key, token_endpoint_auth_method="private_key_jwt",
                                    redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256",
                                    token_endpoint=configuration.token_endpoint)
            session.register_client_auth_method(_FreshPrivateKeyJWT(self.client_key, configuration.token_endpoint))
        else:
            session = OAuth2Session(self.client_id, self._settings.client_secret or None,
                                    redirect_uri=redirect_uri, scope=scope, code_challenge_method="S256",
                                    token_endpoint=configuration.token_endpoint)
        return session

    def authorization_request(self, configuration: SmartConfiguration, redirect_uri: str, scope: str,
                              launch: str | None, state_prefix: str = "") -> AuthorizationRequest:
        """The URL to send the browser to. ``aud`` names the FHIR server the token is for (SMART requires it).
        ``state_prefix`` goes before the random state (which has no dot): what the callback should open."""
        code_verifier = generate_token(CODE_VERIFIER_LENGTH)
        extra = {"aud": configuration.fhir_base_url, **({"launch": launch} if launch else {})}
        with self._session(configuration, redirect_uri, scope) as session:
            url, state = session.create_authorization_url(configuration.authorization_endpoint,
                                                          code_verifier=code_verifier,
                                                          state=state_prefix + generate_token(30), **extra)
        return AuthorizationRequest(url, state, code_verifier)

    def exchange_code(self, configuration: SmartConfiguration, code: str, redirect_uri: str,
                      code_verifier: str) -> dict[str, Any]:
        with self._session(configuration, redirect_uri) as session:
            return self._call(lambda: session.fetch_token(configuration.token_endpoint, grant_type="authorization_code",
                                                          code=code, code_verifier=code_verifier,
                                                          timeout=self._settings.http_timeout_s))

    def refresh(self, configuration: SmartConfiguration, refresh_token: str) -> dict[str, Any]:
        with self._session(configuration) as session:
            return self._call(lambda: session.refresh_token(configuration.token_endpoint, refresh_token=refresh_token,
                                                            timeout=self._settings.http_timeout_s))

    def introspect(self, configuration: SmartConfiguration, token: str) -> dict[str, Any]:
        if not configuration.introspection_endpoint:
            raise TokenEndpointError("unsupported", "the EHR offers no introspection_endpoint")
        with self._session(configuration) as session:
            try:
                response = session.introspect_token(configuration.introspection_endpoint, token=token,
                                                    token_type_hint="access_token",
                                                    timeout=self._settings.http_timeout_s)
            except requests.RequestException as error:
                raise TokenEndpointError("temporarily_unavailable", type(error).__name__) from None
        if response.status_code != 200:
            raise TokenEndpointError("introspection_failed", f"HTTP {response.status_code}")
        body = response.json()
        return body if isinstance(body, dict) else {"active": False}

    @staticmethod
    def _call(request: Any) -> dict[str, Any]:
        try:
            return dict(request())
        except OAuthError as error:
            raise TokenEndpointError(error.error or "invalid_grant", error.description or "") from None
        except requests.RequestException as error:
            raise TokenEndpointError("temporarily_unavailable", type(error).__name__) from None
        except ValueError as error:  # a body that is not a token response
            raise TokenEndpointError("invalid_response", str(error)) from None
