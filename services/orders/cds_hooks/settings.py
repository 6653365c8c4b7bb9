"""The CDS Hooks service's settings (``ORDERS_CDS_*``), validated at start-up: which EHRs may call it and with
which keys, how much clock skew a token may have, which browser origins may call it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# CDS Hooks 2.0 names ES384 and RS384; the SHA-256 variants are accepted only when a hospital lists them.
SUPPORTED_ALGORITHMS = frozenset({"RS384", "ES384", "RS256", "ES256"})


@dataclass(frozen=True)
class TrustedEhr:
    """One EHR allowed to call the hooks: its ``iss``, where its keys are (a JWKS URL fetched and cached, or a JWKS
    file a hospital pins) and the FHIR bases its requests may name as ``fhirServer`` (empty: the service's own
    ``EHR_FHIR_BASE_URL``)."""

    iss: str
    jwks_url: str = ""
    jwks_file: str = ""
    fhir_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CdsHooksSettings:
    """``ORDERS_CDS_TRUSTED_ISSUERS``: JSON object iss → {"jwks_url": ... | "jwks_file": ..., "fhir_servers": [...]}
    (default none: every hook call is refused with 401 until an EHR is configured);
    ``ORDERS_CDS_LEEWAY_S`` (default 5): clock skew allowed on ``exp`` and ``iat``;
    ``ORDERS_CDS_MAX_TOKEN_AGE_S`` (default 300): how long after ``iat`` a token is still taken;
    ``ORDERS_CDS_ALGORITHMS`` (default RS384,ES384); ``ORDERS_CDS_ALLOWED_ORIGINS`` (default none): browser origins
    of the EHR's order entry that may call the hooks (CORS); ``ORDERS_CDS_JWKS_CACHE_S`` (default 300): how long a
    fetched key set is kept; ``ORDERS_CDS_HTTP_TIMEOUT_S`` (default 5): key-set fetches and EHR reads;
    ``ORDERS_CDS_PROTOCOL_URL`` (default none): where the clinic publishes its protocol (each card's source link);
    ``ORDERS_CDS_CARD_RETENTION_S`` (default 86400): how long a returned card is kept (ids only) so its feedback can
    be attributed to the prescriber; feedback for an older card is refused."""

    trusted_issuers: str = "{}"
    leeway_s: int = 5
    max_token_age_s: int = 300
    algorithms: tuple[str, ...] = ("RS384", "ES384")
    allowed_origins: tuple[str, ...] = ()
    jwks_cache_s: int = 300
    http_timeout_s: float = 5.0
    protocol_url: str = ""
    card_retention_s: int = 86_400

    def validate(self) -> None:
        if not 0 <= self.leeway_s <= 60:
            raise ValueError("leeway_s must be 0-60 seconds")
        if not 30 <= self.max_token_age_s <= 3600:
            raise ValueError("max_token_age_s must be 30-3600 seconds")
        if not self.algorithms or not set(self.algorithms) <= SUPPORTED_ALGORITHMS:
            raise ValueError(f"algorithms must be among {', '.join(sorted(SUPPORTED_ALGORITHMS))}")
        if not 10 <= self.jwks_cache_s <= 86_400:
            raise ValueError("jwks_cache_s must be 10-86400 seconds")
        if not 0.5 <= self.http_timeout_s <= 30:
            raise ValueError("http_timeout_s must be 0.5-30 seconds")
        if not 600 <= self.card_retention_s <= 30 * 86_400:
            raise ValueError("card_retention_s must be 600-2592000 seconds (10 minutes to 30 days)")
        if self.protocol_url and not self.protocol_url.startswith(("https://", "http://")):
            raise ValueError("protocol_url must be an http(s) URL")
        for origin in self.allowed_origins:
            if origin == "*" or _origin_of(origin) != origin:
                raise ValueError(f"allowed_origins: {origin!r} is not an origin (scheme://host[:port], no '*')")
        self.trusted()

    def trusted(self) -> dict[str, TrustedEhr]:
        """The trusted EHRs by ``iss``; raises ValueError for a bad ``trusted_issuers``."""
        return parse_trusted_issuers(self.trusted_issuers)


def parse_trusted_issuers(raw: str) -> dict[str, TrustedEhr]:
    try:
        document: Any = json.loads(raw)
    except ValueError:
        raise ValueError("trusted_issuers is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError("trusted_issuers must be a JSON object: iss → {jwks_url | jwks_file}")
    issuers: dict[str, TrustedEhr] = {}
    for iss, entry in document.items():
        if not isinstance(entry, dict) or set(entry) - {"jwks_url", "jwks_file", "fhir_servers"}:
            raise ValueError(f"trusted_issuers[{iss!r}]: an object with jwks_url or jwks_file (and fhir_servers)")
        jwks_url, jwks_file = entry.get("jwks_url", ""), entry.get("jwks_file", "")
        if bool(jwks_url) == bool(jwks_file):
            raise ValueError(f"trusted_issuers[{iss!r}]: exactly one of jwks_url and jwks_file")
        if jwks_url and urlsplit(jwks_url).scheme not in ("https", "http"):
            raise ValueError(f"trusted_issuers[{iss!r}]: jwks_url must be an http(s) URL")
        servers = entry.get("fhir_servers", [])
        if not isinstance(servers, list) or not all(
                isinstance(s, str) and s.startswith(("http://", "https://")) for s in servers):
            raise ValueError(f"trusted_issuers[{iss!r}]: fhir_servers must be a list of http(s) URLs")
        issuers[iss] = TrustedEhr(iss, jwks_url, jwks_file, tuple(s.rstrip("/") for s in servers))
        if jwks_file:
            from services.orders.cds_hooks.keys import load_jwks_file
            load_jwks_file(jwks_file)  # a pinned file that cannot be read stops the start, not the first call
    return issuers


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"
