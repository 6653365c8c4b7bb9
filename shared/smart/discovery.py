"""What an EHR's authorization server offers: ``{iss}/.well-known/smart-configuration`` and its signing keys.

Both are cached per issuer for a few minutes; the key set is fetched again at once when a token names a key id it
does not hold (the EHR rotated its keys)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DISCOVERY_TTL_S = 300.0
JWKS_TTL_S = 300.0
JWKS_MIN_REFETCH_S = 30.0  # a token naming an unknown key id cannot make us fetch the key set more often


class DiscoveryError(Exception):
    """The issuer's smart-configuration could not be read or lacks what a launch needs."""


@dataclass(frozen=True)
class SmartConfiguration:
    fhir_base_url: str
    authorization_endpoint: str
    token_endpoint: str
    capabilities: frozenset[str]
    issuer: str | None = None
    jwks_uri: str | None = None
    introspection_endpoint: str | None = None
    code_challenge_methods: tuple[str, ...] = ()
    token_endpoint_auth_methods: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def supports_v2_scopes(self) -> bool:
        return "permission-v2" in self.capabilities

    @property
    def token_issuers(self) -> set[str]:
        """Values a token's ``iss`` may carry for this EHR: its OIDC issuer and its FHIR base URL."""
        return {value for value in (self.issuer, self.fhir_base_url) if value}

    @classmethod
    def from_json(cls, fhir_base_url: str, document: Any) -> "SmartConfiguration":
        if not isinstance(document, dict):
            raise DiscoveryError("smart-configuration is not a JSON object")
        missing = [name for name in ("authorization_endpoint", "token_endpoint") if not document.get(name)]
        if missing:
            raise DiscoveryError(f"smart-configuration lacks {', '.join(missing)}")
        methods = tuple(document.get("code_challenge_methods_supported") or ())
        # Some servers omit code_challenge_methods_supported; PKCE S256 is still sent. One that lists methods
        # without S256 (or lists plain, which SMART forbids) is not one to send clinicians to.
        if methods and "S256" not in methods:
            raise DiscoveryError("the authorization server does not support PKCE S256")
        return cls(fhir_base_url=fhir_base_url, authorization_endpoint=document["authorization_endpoint"],
                   token_endpoint=document["token_endpoint"],
                   capabilities=frozenset(document.get("capabilities") or ()), issuer=document.get("issuer"),
                   jwks_uri=document.get("jwks_uri"), introspection_endpoint=document.get("introspection_endpoint"),
                   code_challenge_methods=methods,
                   token_endpoint_auth_methods=tuple(document.get("token_endpoint_auth_methods_supported") or ()),
                   raw=document)


def normalise_issuer(iss: str) -> str:
    return iss.strip().rstrip("/")


class Discovery:
    """Per-issuer cache of smart-configuration documents and key sets (thread-safe; one per app)."""

    def __init__(self, timeout_s: float = 10.0, session: requests.Session | None = None):
        self._timeout_s = timeout_s
        self._http = session or requests.Session()
        self._lock = threading.Lock()
        self._configurations: dict[str, tuple[float, SmartConfiguration]] = {}
        self._key_sets: dict[str, tuple[float, KeySet]] = {}

    def configuration(self, iss: str) -> SmartConfiguration:
        iss = normalise_issuer(iss)
        with self._lock:
            cached = self._configurations.get(iss)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        url = f"{iss}/.well-known/smart-configuration"
        try:
            response = self._http.get(url, headers={"Accept": "application/json"}, timeout=self._timeout_s)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise DiscoveryError(f"could not read {url}: {type(error).__name__}") from None
        configuration = SmartConfiguration.from_json(iss, document)
        with self._lock:
            self._configurations[iss] = (time.monotonic() + DISCOVERY_TTL_S, configuration)
        return configuration

    def key_set(self, jwks_uri: str, *, refresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._key_sets.get(jwks_uri)
        if cached:
            expires_at, key_set = cached
            fetched_at = expires_at - JWKS_TTL_S
            if expires_at > time.monotonic() and (not refresh or time.monotonic() - fetched_at < JWKS_MIN_REFETCH_S):
                return key_set
        try:
            response = self._http.get(jwks_uri, headers={"Accept": "application/json"}, timeout=self._timeout_s)
            response.raise_for_status()
            key_set = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, TypeError, JoseError) as error:
            raise DiscoveryError(f"could not read the key set at {jwks_uri}: {type(error).__name__}") from None
        with self._lock:
            self._key_sets[jwks_uri] = (time.monotonic() + JWKS_TTL_S, key_set)
        return key_set
