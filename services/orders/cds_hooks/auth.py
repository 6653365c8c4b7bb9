"""Verification of the JWT a CDS client (the EHR) sends with every hook call (CDS Hooks 2.0, "Trusting CDS
Clients"): ``iss`` is a configured EHR, the signature is by that EHR's keys (a ``jku`` header is followed only when
it is the URL configured for that ``iss``), ``aud`` is this service's endpoint URL, ``exp`` not passed and ``iat``
not in the future (with a small leeway), and ``jti`` not seen before (``seen_jti`` stores it until ``exp``).

A refusal names the reason class only, never the token. Signature checks are joserfc's; only asymmetric
algorithms from ``ORDERS_CDS_ALGORITHMS`` are accepted (never ``none`` or HMAC)."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from services.orders.cds_hooks.keys import KeysUnavailable, TrustedKeys
from services.orders.cds_hooks.settings import CdsHooksSettings, TrustedEhr


class CdsAuthError(Exception):
    """401: ``reason`` is a short class (missing-token, malformed, untrusted-issuer, bad-signature, expired,
    not-yet-valid, wrong-audience, replayed, keys-unavailable, bad-algorithm, untrusted-jku, missing-claim)."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class CdsCaller:
    """Who called, from the verified token: the EHR (``iss``), the subject it names (``sub``: the EHR's client id)
    and, when given, the ``tenant``."""

    iss: str
    sub: str
    jti: str
    expires_at: int
    tenant: str | None
    ehr: TrustedEhr


class CdsTokenVerifier:
    def __init__(self, settings: CdsHooksSettings, keys: TrustedKeys | None = None,
                 clock: Callable[[], float] = time.time):
        self._settings = settings
        self._issuers = settings.trusted()
        self._keys = keys or TrustedKeys(self._issuers, settings.jwks_cache_s, settings.http_timeout_s)
        self._clock = clock

    def verify(self, authorization: str | None, audience: str, seen_jti: Callable[[str, str, int], bool]
               ) -> CdsCaller:
        """``seen_jti(iss, jti, exp)`` records the jti and answers True when it was already recorded."""
        token = _bearer(authorization)
        try:
            compact = jws.extract_compact(token.encode())
            header, payload = compact.protected, compact.payload  # read before the signature: only to choose keys
        except (JoseError, ValueError, UnicodeError):
            raise CdsAuthError("malformed", "the Authorization header holds no signed JWT") from None
        alg = header.get("alg")
        if alg not in self._settings.algorithms:
            raise CdsAuthError("bad-algorithm", f"alg must be one of {', '.join(self._settings.algorithms)}")
        iss = _unverified_iss(payload)
        ehr = self._issuers.get(iss) if iss else None
        if ehr is None:
            raise CdsAuthError("untrusted-issuer", "the token's iss is not a configured trusted EHR")
        jku = header.get("jku")
        if jku is not None and (not ehr.jwks_url or jku != ehr.jwks_url):
            raise CdsAuthError("untrusted-jku", "the jku header is not the key set URL configured for this iss")
        claims = self._verified_claims(token, ehr, header.get("kid"))
        return self._check_claims(claims, ehr, audience, seen_jti)

    def _verified_claims(self, token: str, ehr: TrustedEhr, kid: str | None) -> dict[str, Any]:
        try:
            key_set = self._keys.key_set(ehr.iss)
            if kid and not any(key.kid == kid for key in key_set.keys):
                key_set = self._keys.key_set(ehr.iss, refresh=True)  # the EHR may have rotated its keys
            return dict(jwt.decode(token, key_set, algorithms=list(self._settings.algorithms)).claims)
        except KeysUnavailable as error:
            raise CdsAuthError("keys-unavailable", str(error)) from None
        except (JoseError, ValueError):
            raise CdsAuthError("bad-signature", "the signature is not by a key of the configured EHR") from None

    def _check_claims(self, claims: dict[str, Any], ehr: TrustedEhr, audience: str,
                      seen_jti: Callable[[str, str, int], bool]) -> CdsCaller:
        for name in ("iss", "sub", "aud", "exp", "iat", "jti"):
            if name not in claims:
                raise CdsAuthError("missing-claim", f"the token has no {name}")
        leeway = self._settings.leeway_s
        now = self._clock()
        exp, iat = claims["exp"], claims["iat"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (exp, iat)):
            raise CdsAuthError("malformed", "exp and iat must be numbers")
        if exp > now + self._settings.max_token_age_s + leeway:  # its jti would be kept that long
            raise CdsAuthError("malformed", "exp is further ahead than ORDERS_CDS_MAX_TOKEN_AGE_S")
        if exp + leeway < now:
            raise CdsAuthError("expired", "the token's exp has passed")
        if iat - leeway > now:
            raise CdsAuthError("not-yet-valid", "the token's iat is in the future")
        if now - iat > self._settings.max_token_age_s + leeway:
            raise CdsAuthError("expired", "the token was issued too long ago (ORDERS_CDS_MAX_TOKEN_AGE_S)")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience not in audiences:
            raise CdsAuthError("wrong-audience", "the token's aud is not this service's endpoint URL")
        jti, sub = claims["jti"], claims["sub"]
        if not isinstance(jti, str) or not 1 <= len(jti) <= 200 or not isinstance(sub, str) or len(sub) > 300:
            raise CdsAuthError("malformed", "jti (1-200 characters) and sub must be strings")
        if seen_jti(ehr.iss, jti, int(exp) + leeway):
            raise CdsAuthError("replayed", "the token's jti was used before")
        tenant = claims.get("tenant")
        return CdsCaller(ehr.iss, sub, jti, int(exp), tenant if isinstance(tenant, str) else None, ehr)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise CdsAuthError("missing-token", "a CDS client sends its JWT as Authorization: Bearer")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 16_384:
        raise CdsAuthError("malformed", "the Authorization header must be Bearer <JWT>")
    return token.strip()


def _unverified_iss(payload: bytes) -> str | None:
    """The ``iss`` before the signature is checked: only to choose whose keys check it."""
    try:
        document = json.loads(payload)
    except ValueError:
        raise CdsAuthError("malformed", "the JWT payload is not JSON") from None
    iss = document.get("iss") if isinstance(document, dict) else None
    return iss if isinstance(iss, str) else None
