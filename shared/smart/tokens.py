"""Checking tokens the app did not obtain itself: ``Authorization: Bearer`` access tokens on machine calls (JWTs
against the issuing EHR's keys, or RFC 7662 introspection) and the ``id_token`` of a launch (OpenID Connect)."""
from __future__ import annotations

import json
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
    """Not a token this app accepts; the message says why (never the token itself)."""


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
        raise InvalidToken("not a signed JWT") from error
    if not isinstance(payload, dict):
        raise InvalidToken("the JWT payload is not an object")
    return payload


def verify_jwt(token: str, key_set_for: Any, *, issuers: set[str] | None, audiences: set[str] | None,
               leeway_s: int = LEEWAY_S, now: float | None = None) -> dict[str, Any]:
    """The claims of ``token`` once its signature (a key from ``key_set_for(refresh: bool)``), ``exp``/``nbf`` and,
    where present, ``iss`` and ``aud`` are good. A key id the cached set lacks makes it fetch the set once more."""
    try:
        decoded = _decode(token, key_set_for(False))
    except _UnknownKey:
        try:
            decoded = _decode(token, key_set_for(True))
        except _UnknownKey:
            raise InvalidToken("the token is signed with a key the EHR does not publish") from None
    claims = decoded.claims
    options: dict[str, Any] = {"exp": {"essential": True}}
    if issuers and "iss" in claims:
        options["iss"] = {"essential": True, "values": sorted(issuers)}
    if audiences and "aud" in claims:
        options["aud"] = {"essential": True, "values": sorted(audiences)}
    try:
        jwt.JWTClaimsRegistry(now=int(now) if now is not None else None, leeway=leeway_s, **options).validate(claims)
    except JoseError as error:
        raise InvalidToken(f"token rejected: {error.error}{': ' + error.description if error.description else ''}"
                           ) from None
    return claims


class _UnknownKey(Exception):
    pass


def _decode(token: str, key_set: KeySet) -> jwt.Token:
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as error:
        raise InvalidToken("not a signed JWT") from error
    kid = header.get("kid")
    if kid and not any(key.kid == kid for key in key_set.keys):
        raise _UnknownKey(kid)
    try:
        return jwt.decode(token, key_set, algorithms=SIGNING_ALGORITHMS)
    except JoseError as error:
        raise InvalidToken(f"token signature or format rejected: {error.error}") from None


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
