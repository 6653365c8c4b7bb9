"""Checking tokens the app did not obtain itself: ``Authorization: Bearer`` access tokens on machine calls (JWTs
against the issuing EHR's keys, or RFC 7662 introspection) and the ``id_token`` of a launch (OpenID Connect)."""
from __future__ import annotations

import json
import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.smart.discovery import Discovery, DiscoveryError, SmartConfiguration
from shared.smart.sessions import optional_text

SIGNING_ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
LEEWAY_S = 30  # clock skew allowed between the EHR and this service (SMART_CLOCK_SKEW_S)


class InvalidToken(Exception):
    """Not a token this app accepts; the message says why (never the token itself) and ``reason`` its class:
    malformed, bad-algorithm, bad-signature, missing-claim, expired, not-yet-valid, wrong-issuer, wrong-audience."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    iss: str  # the FHIR base URL of the EHR that issued it
    scope: str
    patient: str | None
    encounter: str | None
    fhir_user: str | None
    client_id: str | None  # the app the EHR issued it to: ``client_id`` (RFC 9068, RFC 7662), else OpenID's ``azp``
    expires_at: float | None


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, before any check: only to choose which issuer's keys to check it with."""
    try:
        payload = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeError) as error:
        raise InvalidToken("not a signed JWT", "malformed") from error
    if not isinstance(payload, dict):
        raise InvalidToken("the JWT payload is not an object", "malformed")
    return payload


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS, before any check: which algorithm, key id and key set it names."""
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, UnicodeError) as error:
        raise InvalidToken("not a signed JWT", "malformed") from error
    return dict(header)


def verify_jwt(token: str, key_set_for: Any, *, issuers: Collection[str] | None, audiences: Collection[str] | None,
               leeway_s: int = LEEWAY_S, now: float | None = None,
               algorithms: Collection[str] = SIGNING_ALGORITHMS, required: Collection[str] = ("exp",),
               ) -> dict[str, Any]:
    """The claims of ``token`` once its algorithm (one of ``algorithms``: asymmetric only, never ``none`` or HMAC),
    its signature (a key from ``key_set_for(refresh: bool)``), the ``required`` claims, ``exp``/``nbf``/``iat``
    (within ``leeway_s``) and, where present, ``iss`` and ``aud`` are good. A key id the cached set lacks makes it
    ask for the set once more (``key_set_for(True)``; the key source decides whether to fetch again)."""
    alg = unverified_header(token).get("alg")
    if alg not in algorithms or alg not in SIGNING_ALGORITHMS:
        raise InvalidToken(f"alg must be one of {', '.join(sorted(set(algorithms) & set(SIGNING_ALGORITHMS)))}",
                           "bad-algorithm")
    try:
        decoded = _decode(token, key_set_for(False), algorithms)
    except _UnknownKey:
        try:
            decoded = _decode(token, key_set_for(True), algorithms)
        except _UnknownKey:
            raise InvalidToken("the token is signed with a key the EHR does not publish", "bad-signature") from None
    claims = dict(decoded.claims)
    check_claims(claims, issuers=issuers, audiences=audiences, leeway_s=leeway_s,
                 now=time.time() if now is None else now, required=required)
    return claims


def check_claims(claims: dict[str, Any], *, issuers: Collection[str] | None, audiences: Collection[str] | None,
                 leeway_s: int, now: float, required: Collection[str]) -> None:
    """RFC 7519's checks, each refusal with its reason class: a token is good until ``exp`` + leeway (inclusive),
    not before ``nbf``/``iat`` - leeway, from one of ``issuers`` and for one of ``audiences`` where it names them."""
    for name in required:
        if name not in claims:
            raise InvalidToken(f"the token has no {name}", "missing-claim")
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name, 0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidToken(f"the token's {name} is not a NumericDate", "malformed")
    if "exp" in claims and claims["exp"] + leeway_s < now:
        raise InvalidToken("the token has expired (exp)", "expired")
    if "nbf" in claims and claims["nbf"] - leeway_s > now:
        raise InvalidToken("the token is not valid yet (nbf)", "not-yet-valid")
    if "iat" in claims and claims["iat"] - leeway_s > now:
        raise InvalidToken("the token was issued in the future (iat)", "not-yet-valid")
    if issuers and "iss" in claims and (not isinstance(claims["iss"], str) or claims["iss"] not in issuers):
        raise InvalidToken("the token's iss is not an issuer this service accepts", "wrong-issuer")
    if audiences and "aud" in claims:
        named = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if not any(isinstance(aud, str) and aud in audiences for aud in named):
            raise InvalidToken("the token's aud is not this service", "wrong-audience")


class _UnknownKey(Exception):
    pass


def _decode(token: str, key_set: KeySet, algorithms: Collection[str]) -> jwt.Token:
    kid = unverified_header(token).get("kid")
    if kid and not any(key.kid == kid for key in key_set.keys):
        raise _UnknownKey(kid)
    try:
        return jwt.decode(token, key_set, algorithms=list(algorithms))
    except JoseError as error:
        raise InvalidToken(f"token signature or format rejected: {error.error}", "bad-signature") from None
    except (ValueError, TypeError, UnicodeError):
        raise InvalidToken("not a signed JWT", "malformed") from None


class BearerVerifier:
    """Accepts access tokens issued by the allowed EHRs only."""

    def __init__(self, discovery: Discovery, allowed_issuers: tuple[str, ...], leeway_s: int = LEEWAY_S):
        self._discovery = discovery
        self._allowed_issuers = allowed_issuers
        self._leeway_s = leeway_s

    def _configuration_for(self, token_iss: str | None) -> list[SmartConfiguration]:
        configurations = []
        for iss in self._allowed_issuers:
            try:
                configuration = self._discovery.configuration(iss)
            except DiscoveryError:
                continue
            if token_iss is None or token_iss in configuration.token_issuers:
                configurations.append(configuration)
        return configurations

    def verify_jwt(self, token: str) -> TokenClaims:
        token_iss = unverified_claims(token).get("iss")
        candidates = [c for c in self._configuration_for(token_iss) if c.jwks_uri]
        if not candidates:
            raise InvalidToken("the token's issuer is not an EHR this service accepts")
        last_error: InvalidToken | None = None
        for configuration in candidates:
            try:
                claims = verify_jwt(token, lambda refresh, c=configuration: self._discovery.key_set(
                    c.jwks_uri, refresh=refresh), issuers=configuration.token_issuers,
                                    audiences={configuration.fhir_base_url}, leeway_s=self._leeway_s)
            except (InvalidToken, DiscoveryError) as error:
                last_error = InvalidToken(str(error))
                continue
            return _claims(configuration.fhir_base_url, claims)
        raise last_error or InvalidToken("token rejected")

    def verify_by_introspection(self, token: str, introspect: Any) -> TokenClaims:
        """``introspect(configuration, token)`` → the RFC 7662 answer; the first allowed EHR that knows it wins."""
        for configuration in self._configuration_for(None):
            if not configuration.introspection_endpoint:
                continue
            answer = introspect(configuration, token)
            if answer.get("active") is True:
                return _claims(configuration.fhir_base_url, answer)
        raise InvalidToken("the token is not active at any EHR this service accepts")


def _claims(fhir_base_url: str, claims: dict[str, Any]) -> TokenClaims:
    scope = claims.get("scope") or claims.get("scp") or ""
    if isinstance(scope, list):
        scope = " ".join(scope)
    exp = claims.get("exp")
    return TokenClaims(iss=fhir_base_url, scope=str(scope), patient=optional_text(claims.get("patient")),
                       encounter=optional_text(claims.get("encounter")),
                       fhir_user=optional_text(claims.get("fhirUser")),
                       client_id=optional_text(claims.get("client_id")) or optional_text(claims.get("azp")),
                       expires_at=float(exp) if isinstance(exp, (int, float)) else None)
