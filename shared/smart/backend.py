"""SMART Backend Services: the service's own access token for the reads it makes without a clinician (intake's
pre-fill, the dosing weight, the export's birth dates, the roles lookup...).

The token comes from the EHR's token endpoint (found in ``{EHR}/.well-known/smart-configuration``) by the
``client_credentials`` grant, the client authenticating with ``private_key_jwt``: a JWT assertion signed RS384 (RSA
key) or ES384 (EC P-384 key), expiring within five minutes, with a fresh ``jti`` each time (Authlib signs it,
``shared/smart/oauth.py``). The token is kept in memory and fetched again ``renew_margin_s`` before it expires, or at
once when the EHR answers 401 to it; one lock, so the threads of a process share one token and one fetch.

A read made for a clinician's request keeps using that clinician's token (``shared/ui/clinician.py``)."""
from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from shared.config import load_settings
from shared.fhir.client import FhirError, FhirUnavailable
from shared.smart.discovery import Discovery, DiscoveryError
from shared.smart.oauth import ClientKey, _FreshPrivateKeyJWT
from shared.smart.scopes import ScopeContext, parse_scope

log = logging.getLogger(__name__)

DEFAULT_SCOPES = "system/*.rs"


class BackendAuth(enum.Enum):
    PRIVATE_KEY_JWT = "private_key_jwt"  # SMART Backend Services (the default)
    NONE = "none"  # no token: only for an EHR that asks for none (a bare FHIR server on a developer's machine)


@dataclass(frozen=True)
class BackendAuthSettings:
    """``EHR_BACKEND_*``; see ``shared/smart/README.md``. An empty ``client_id`` is ``ketalink-<service>-backend``."""

    auth: BackendAuth = BackendAuth.PRIVATE_KEY_JWT
    client_id: str = ""
    private_key_file: str = ""  # PEM: an RSA key signs RS384, an EC P-384 key ES384
    key_id: str = ""  # the kid the EHR registered; empty: the key's JWK thumbprint (RFC 7638)
    scopes: str = DEFAULT_SCOPES
    token_url: str = ""  # empty: token_endpoint from the EHR's /.well-known/smart-configuration
    renew_margin_s: int = 60  # fetch a new token this long before the current one expires
    http_timeout_s: float = 10.0

    def validate(self) -> None:
        if self.auth is BackendAuth.NONE:
            return
        if not self.private_key_file:
            raise ValueError("private_key_file is required for private_key_jwt (or set EHR_BACKEND_AUTH=none for "
                             "an EHR that takes no token)")
        try:
            ClientKey.from_file(self.private_key_file)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"private_key_file {self.private_key_file!r}: {error}") from None
        scopes = self.scopes.split()
        if not scopes:
            raise ValueError("scopes must not be empty")
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None or parsed.context is not ScopeContext.SYSTEM:
                raise ValueError(f"scopes: {scope!r} is not a system/ scope (SMART Backend Services)")
        if self.token_url and not self.token_url.startswith(("http://", "https://")):
            raise ValueError("token_url must be an http(s) URL")
        if self.renew_margin_s < 0 or self.http_timeout_s <= 0:
            raise ValueError("renew_margin_s must not be negative and http_timeout_s must be positive")


def load_backend_auth(service: str, fhir_base_url: str) -> "BackendTokens | None":
    """The service's token source from ``EHR_BACKEND_*`` (checked now, at start-up), or None with
    ``EHR_BACKEND_AUTH=none``."""
    settings = load_settings(BackendAuthSettings, "EHR_BACKEND_")
    if settings.auth is BackendAuth.NONE:
        log.warning("EHR_BACKEND_AUTH=none: the service's own EHR reads carry no token")
        return None
    return BackendTokens(settings, settings.client_id or f"ketalink-{service}-backend", fhir_base_url)


class BackendTokens:
    """The ``tokens`` of a ``FhirClient`` (``shared.fhir.client.AccessTokens``): one cached backend token."""

    def __init__(self, settings: BackendAuthSettings, client_id: str, fhir_base_url: str,
                 discovery: Discovery | None = None):
        self.settings = settings
        self.client_id = client_id
        self.fhir_base_url = fhir_base_url.rstrip("/")
        key = ClientKey.from_file(settings.private_key_file)
        if settings.key_id:
            key.kid = settings.key_id
        self._key = key
        self._discovery = discovery or Discovery(settings.http_timeout_s)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetched = 0  # tokens obtained so far (the tests read it)

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, self._renew_at = self._fetch()
            return self._token

    def forget(self, access_token: str) -> None:
        with self._lock:
            if self._token == access_token:
                self._token = None

    def _token_url(self) -> str:
        if self.settings.token_url:
            return self.settings.token_url
        try:
            return self._discovery.configuration(self.fhir_base_url).token_endpoint
        except DiscoveryError as error:
            raise FhirUnavailable(0, [f"the EHR's SMART configuration: {error}"]) from None

    def _fetch(self) -> tuple[str, float]:
        token_url = self._token_url()
        session = OAuth2Session(self.client_id, self._key.key, token_endpoint_auth_method="private_key_jwt",
                                scope=self.settings.scopes, token_endpoint=token_url)
        session.register_client_auth_method(_FreshPrivateKeyJWT(self._key, token_url))
        asked_at = time.monotonic()
        try:
            with session:
                token = session.fetch_token(token_url, grant_type="client_credentials",
                                            timeout=self.settings.http_timeout_s)
        except OAuthError as error:
            raise FhirError(401, [f"the EHR refused a backend token to {self.client_id}: "
                                  f"{error.error or 'invalid_client'}"]) from None
        except requests.RequestException as error:
            raise FhirUnavailable(0, [f"no answer from the EHR's token endpoint: {type(error).__name__}"]) from None
        except ValueError:
            raise FhirUnavailable(0, ["the EHR's token endpoint did not answer with a token"]) from None
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise FhirUnavailable(0, ["the EHR's token endpoint did not answer with a token"])
        self.fetched += 1
        lifetime_s = _lifetime_s(token.get("expires_in"))
        # Renew a margin before expiry; a token shorter-lived than twice the margin is renewed halfway.
        return access_token, asked_at + lifetime_s - min(self.settings.renew_margin_s, lifetime_s / 2)


def _lifetime_s(expires_in: object) -> float:
    """``expires_in`` as seconds; a server that leaves it out gets five minutes (SMART's recommended ceiling)."""
    if isinstance(expires_in, (int, float, str)):
        try:
            return max(float(expires_in), 0.0)
        except ValueError:
            pass
    return 300.0
