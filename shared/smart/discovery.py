"""What an EHR's authorization server offers: ``{iss}/.well-known/smart-configuration`` and its signing keys.

Both are cached per issuer for a few minutes; the key set is fetched again at once when a token names a key id it
does not hold (the EHR rotated its keys), but never more often than a floor, so a stream of made-up key ids cannot
turn the service into a fetch loop against the EHR. A key set is fetched without following redirects (the URL is
the configured one, not wherever it points) and read up to a size cap; only public signature keys (RSA, EC) are
taken from it, and one holding a private key or a shared secret is refused as a mistake or a leak."""
from __future__ import annotations

import json
import os
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
MAX_JWKS_BYTES = 262_144  # a real key set is a few KiB; more is not one to parse
SIGNATURE_KEY_TYPES = ("RSA", "EC")


def public_key_set(document: Any) -> KeySet:
    """The public RSA and EC keys of a JWK Set document; ValueError when it is not one, holds no such key, or holds
    a private key or a secret (``d``, ``k``): only an issuer's public keys belong in a set this service trusts."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set (an object with keys)")
    keys = [key for key in document["keys"] if isinstance(key, dict)]
    if any("d" in key or "k" in key for key in keys):
        raise ValueError("the JWK Set holds a private key or a secret: only the issuer's public keys belong in it")
    public = [key for key in keys if key.get("kty") in SIGNATURE_KEY_TYPES]  # signature keys only, never HMAC
    if not public:
        raise ValueError("the JWK Set holds no RSA or EC public key")
    try:
        return KeySet.import_key_set({"keys": public})
    except (JoseError, ValueError, TypeError) as error:
        raise ValueError(f"the JWK Set holds a key that cannot be read: {error}") from None


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

    def __init__(self, timeout_s: float = 10.0, session: requests.Session | None = None, *,
                 jwks_ttl_s: float = JWKS_TTL_S, jwks_min_refetch_s: float = JWKS_MIN_REFETCH_S,
                 max_jwks_bytes: int = MAX_JWKS_BYTES):
        """``jwks_ttl_s``: how long a fetched key set is used; ``jwks_min_refetch_s``: the floor between fetches a
        token's unknown key id may cause; ``max_jwks_bytes``: a larger key set document is refused unread."""
        self._timeout_s = timeout_s
        self._http = session or _session_without_netrc()
        self._jwks_ttl_s = jwks_ttl_s
        self._jwks_min_refetch_s = jwks_min_refetch_s
        self._max_jwks_bytes = max_jwks_bytes
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
            response = self._http.get(url, headers={"Accept": "application/json"}, timeout=self._timeout_s,
                                      **_environment(url))
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise DiscoveryError(f"could not read {url}: {type(error).__name__}") from None
        configuration = SmartConfiguration.from_json(iss, document)
        with self._lock:
            self._configurations[iss] = (time.monotonic() + DISCOVERY_TTL_S, configuration)
        return configuration

    def key_set(self, jwks_uri: str, *, refresh: bool = False) -> KeySet:
        """The key set at ``jwks_uri``, cached; ``refresh``: a token named a key id the cached set lacks, so fetch
        again unless the last fetch is younger than the refetch floor."""
        with self._lock:
            cached = self._key_sets.get(jwks_uri)
        if cached:
            fetched_at, key_set = cached
            age = time.monotonic() - fetched_at
            if age < self._jwks_ttl_s and (not refresh or age < self._jwks_min_refetch_s):
                return key_set
        key_set = self._fetch_key_set(jwks_uri)
        with self._lock:
            self._key_sets[jwks_uri] = (time.monotonic(), key_set)
        return key_set

    def _fetch_key_set(self, jwks_uri: str) -> KeySet:
        try:
            response = self._http.get(jwks_uri, headers={"Accept": "application/json"}, timeout=self._timeout_s,
                                      allow_redirects=False, stream=True, **_environment(jwks_uri))
            try:
                body = response.raw.read(self._max_jwks_bytes + 1, decode_content=True)
            finally:
                response.close()
        except requests.RequestException as error:
            raise DiscoveryError(f"could not read the key set at {jwks_uri}: {type(error).__name__}") from None
        if response.status_code != 200:  # a redirect too: the key set is at the configured URL or nowhere
            raise DiscoveryError(f"the key set at {jwks_uri} answered {response.status_code}")
        if len(body) > self._max_jwks_bytes:
            raise DiscoveryError(f"the key set at {jwks_uri} is larger than {self._max_jwks_bytes} bytes")
        try:
            return public_key_set(json.loads(body))
        except ValueError as error:
            raise DiscoveryError(f"the key set at {jwks_uri} holds no usable JWK Set: {error}") from None


def _session_without_netrc() -> requests.Session:
    """No credentials from ``~/.netrc`` on requests to an EHR's endpoints; the environment's proxy and CA bundle are
    passed per request instead."""
    session = requests.Session()
    session.trust_env = False
    return session


def _environment(url: str) -> dict[str, Any]:
    """The environment's proxy (``HTTPS_PROXY``, ``NO_PROXY``) and CA bundle for a request to ``url``."""
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return {"verify": ca_bundle, "proxies": requests.utils.get_environ_proxies(url)}
