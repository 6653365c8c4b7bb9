"""Verification of the JWT a CDS client (the EHR) sends with every hook call (CDS Hooks 2.0, "Trusting CDS
Clients"), on the shared verifier (``shared/smart/tokens.verify_jwt``: algorithm, signature, key rotation, ``exp``
and ``iat`` with a small leeway, ``aud``). What is CDS-specific stays here: ``iss`` chooses a configured EHR and its
keys (a ``jku`` header is followed only when it is the URL configured for that ``iss``), ``aud`` must be the
endpoint URL called, every claim the spec names is required, a token is not taken long after ``iat``, and ``jti``
is not seen before (``seen_jti`` stores it until ``exp``).

A refusal names the reason class only, never the token. Only asymmetric algorithms from ``ORDERS_CDS_ALGORITHMS``
are accepted (never ``none`` or HMAC)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.smart.tokens import InvalidToken, unverified_claims, unverified_header, verify_jwt
from services.orders.cds_hooks.keys import KeysUnavailable, TrustedKeys
from services.orders.cds_hooks.settings import CdsHooksSettings, TrustedEhr

REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti")
#: The shared verifier's reason classes, as this service's 401 names them.
_REASONS = {"wrong-issuer": "untrusted-issuer"}


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
            header = unverified_header(token)  # read before the signature: only to choose keys
            iss = unverified_claims(token).get("iss")
            ehr = self._issuers.get(iss) if isinstance(iss, str) else None
            if ehr is None:
                raise CdsAuthError("untrusted-issuer", "the token's iss is not a configured trusted EHR")
            jku = header.get("jku")
            if jku is not None and (not ehr.jwks_url or jku != ehr.jwks_url):
                raise CdsAuthError("untrusted-jku", "the jku header is not the key set URL configured for this iss")
            now = self._clock()
            claims = verify_jwt(token, lambda refresh: self._keys.key_set(ehr.iss, refresh=refresh),
                                issuers={ehr.iss}, audiences={audience}, leeway_s=self._settings.leeway_s, now=now,
                                algorithms=self._settings.algorithms, required=REQUIRED_CLAIMS)
        except InvalidToken as error:
            raise CdsAuthError(_REASONS.get(error.reason, error.reason), str(error)) from None
        except KeysUnavailable as error:
            raise CdsAuthError("keys-unavailable", str(error)) from None
        return self._cds_claims(claims, ehr, now, seen_jti)

    def _cds_claims(self, claims: dict[str, Any], ehr: TrustedEhr, now: float,
                    seen_jti: Callable[[str, str, int], bool]) -> CdsCaller:
        """What CDS Hooks adds to RFC 7519: a bounded token life (its jti is kept that long) and the jti once."""
        leeway, max_age = self._settings.leeway_s, self._settings.max_token_age_s
        exp, iat = claims["exp"], claims["iat"]
        if exp > now + max_age + leeway:  # its jti would be kept that long
            raise CdsAuthError("malformed", "exp is further ahead than ORDERS_CDS_MAX_TOKEN_AGE_S")
        if now - iat > max_age + leeway:
            raise CdsAuthError("expired", "the token was issued too long ago (ORDERS_CDS_MAX_TOKEN_AGE_S)")
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
