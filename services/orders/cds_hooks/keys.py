"""The public keys of each trusted EHR: a pinned JWKS file (read once), or a JWKS URL fetched and cached for a
bounded time, fetched again at once when a token names a key id the cached set lacks (key rotation), but never
more often than every few seconds, so a stream of forged key ids cannot turn the service into a fetch loop."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.orders.cds_hooks.settings import TrustedEhr

MIN_REFETCH_S = 5.0
MAX_JWKS_BYTES = 262_144


class KeysUnavailable(Exception):
    """The EHR's key set could not be had (fetch failed, not a JWKS): the token cannot be checked."""


def load_jwks_file(path: str) -> KeySet:
    try:
        return _key_set(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as error:
        raise ValueError(f"jwks_file {path}: {type(error).__name__}: {error}") from None


def _key_set(document: Any) -> KeySet:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set (an object with keys)")
    keys = [key for key in document["keys"] if isinstance(key, dict)]
    if any("d" in key or "k" in key for key in keys):
        raise ValueError("the JWK Set holds a private key or a secret: only the EHR's public keys belong in it")
    public = [key for key in keys if key.get("kty") in ("RSA", "EC")]  # signature keys only, never HMAC
    if not public:
        raise ValueError("the JWK Set holds no RSA or EC public key")
    try:
        return KeySet.import_key_set({"keys": public})
    except (JoseError, ValueError, TypeError) as error:
        raise ValueError(f"the JWK Set holds a key that cannot be read: {error}") from None


class TrustedKeys:
    """Key sets by issuer; thread-safe."""

    def __init__(self, issuers: dict[str, TrustedEhr], cache_s: int, timeout_s: float):
        self._issuers = issuers
        self._cache_s = cache_s
        self._timeout_s = timeout_s
        self._pinned = {iss: load_jwks_file(ehr.jwks_file) for iss, ehr in issuers.items() if ehr.jwks_file}
        self._fetched: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.trust_env = False

    def key_set(self, iss: str, *, refresh: bool = False) -> KeySet:
        if iss in self._pinned:
            return self._pinned[iss]
        url = self._issuers[iss].jwks_url
        with self._lock:
            cached = self._fetched.get(url)
            now = time.monotonic()
            if cached and (now - cached[0] < self._cache_s) and not (refresh and now - cached[0] >= MIN_REFETCH_S):
                return cached[1]
        key_set = self._fetch(url)
        with self._lock:
            self._fetched[url] = (time.monotonic(), key_set)
        return key_set

    def _fetch(self, url: str) -> KeySet:
        try:
            # The environment's proxy and CA bundle apply (as for the EHR's FHIR API, shared/fhir/client.py); no .netrc.
            ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            response = self._session.get(url, timeout=self._timeout_s, allow_redirects=False, stream=True,
                                         proxies=requests.utils.get_environ_proxies(url), verify=ca_bundle)
            body = response.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            response.close()
            if response.status_code != 200 or len(body) > MAX_JWKS_BYTES:
                raise KeysUnavailable(f"the key set URL answered {response.status_code}")
            return _key_set(json.loads(body))
        except requests.RequestException as error:
            raise KeysUnavailable(f"the key set URL could not be fetched: {type(error).__name__}") from None
        except ValueError as error:
            raise KeysUnavailable(f"the key set URL holds no usable JWK Set: {error}") from None
