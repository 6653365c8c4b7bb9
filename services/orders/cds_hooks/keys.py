"""The public keys of each trusted EHR: a pinned JWKS file (read once at start), or a JWKS URL, fetched and cached by
the shared SMART key-set cache (``shared/smart/discovery.Discovery``: no redirects, a size cap, public RSA/EC keys
only, fetched again when a token names a key id the cached set lacks but never more often than ``MIN_REFETCH_S``,
so a stream of forged key ids cannot turn the service into a fetch loop). What is CDS-specific is only which
issuer's keys are where."""
from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import KeySet

from shared.smart.discovery import Discovery, DiscoveryError, public_key_set
from services.orders.cds_hooks.settings import TrustedEhr

MIN_REFETCH_S = 5.0  # the EHR's order entry waits on the answer: a rotated key is picked up within seconds


class KeysUnavailable(Exception):
    """The EHR's key set could not be had (fetch failed, not a JWKS): the token cannot be checked."""


def load_jwks_file(path: str) -> KeySet:
    try:
        return public_key_set(json.loads(Path(path).read_text()))
    except (OSError, ValueError) as error:
        raise ValueError(f"jwks_file {path}: {type(error).__name__}: {error}") from None


class TrustedKeys:
    """Key sets by issuer; thread-safe (the fetched ones are ``Discovery``'s, which locks its cache)."""

    def __init__(self, issuers: dict[str, TrustedEhr], cache_s: int, timeout_s: float,
                 discovery: Discovery | None = None):
        self._issuers = issuers
        self._pinned = {iss: load_jwks_file(ehr.jwks_file) for iss, ehr in issuers.items() if ehr.jwks_file}
        self._discovery = discovery or Discovery(timeout_s, jwks_ttl_s=cache_s, jwks_min_refetch_s=MIN_REFETCH_S)

    def key_set(self, iss: str, *, refresh: bool = False) -> KeySet:
        if iss in self._pinned:
            return self._pinned[iss]
        try:
            return self._discovery.key_set(self._issuers[iss].jwks_url, refresh=refresh)
        except DiscoveryError as error:
            raise KeysUnavailable(str(error)) from None
