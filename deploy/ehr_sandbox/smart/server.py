"""The OAuth 2.0 / OpenID Connect machinery of the sandbox's SMART authorization server, built from Authlib's
server parts: the authorization-code grant with PKCE S256 required, refresh-token rotation, client authentication by
secret or ``private_key_jwt`` (RS384/ES384), JWT access tokens (RFC 9068) signed RS256 with the SMART launch context
as claims, id tokens with ``fhirUser``, RFC 7662 introspection, and the ``client_credentials`` grant of SMART Backend
Services (``backend.py``)."""
from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidRequestError, InvalidScopeError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from deploy.ehr_sandbox.smart.backend import BackendClient, BackendRegistration, ClientCredentialsGrant
from deploy.ehr_sandbox.smart.settings import AppRegistration, SmartServerSettings
from deploy.ehr_sandbox.smart.store import AuthorizationCode, AuthStore, IssuedToken, LaunchContext
from shared.smart.scopes import ScopeContext, parse_scope

#: Scopes with a meaning of their own (besides resource scopes such as ``patient/Observation.rs``).
CONTEXT_SCOPES = ("launch", "launch/patient", "launch/encounter", "openid", "fhirUser", "profile",
                  "online_access", "offline_access")
CLIENT_ASSERTION_ALGORITHMS = ["RS384", "ES384"]
MAX_ASSERTION_LIFETIME_S = 300
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def user_facing_scope(scope: str) -> bool:
    parsed = parse_scope(scope)
    if parsed is None:
        return scope in CONTEXT_SCOPES
    return parsed.context is not ScopeContext.SYSTEM  # system/ scopes belong to backend services, not launches


class Client(ClientMixin):
    """Authlib's view of one registered app."""

    def __init__(self, registration: AppRegistration):
        self.registration = registration

    def get_client_id(self) -> str:
        return self.registration.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.registration.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(scope_to_list(self.registration.scope)) if self.registration.scope else None
        return " ".join(s for s in scope_to_list(scope or "")
                        if user_facing_scope(s) and (allowed is None or s in allowed))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.registration.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.registration.client_secret) and hmac.compare_digest(self.registration.client_secret,
                                                                              client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        allowed = {"public": {"none"}, "confidential-symmetric": {"client_secret_basic", "client_secret_post"},
                   "confidential-asymmetric": {"private_key_jwt"}}[self.registration.client_type]
        return method in allowed

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


class SmartServer(AuthorizationServer):
    def __init__(self, settings: SmartServerSettings, store: AuthStore, fhir_base_url: str,
                 backend_clients: dict[str, BackendRegistration] | None = None, public_url: str | None = None):
        """``public_url``: where this server's endpoints answer; by default the FHIR server's root (the sandbox's own
        FHIR server), else the sandbox's own port in front of another FHIR server (HAPI in ``make test-hapi``)."""
        self.settings = settings
        self.store = store
        self.fhir_base_url = fhir_base_url
        self.issuer = fhir_base_url  # tokens name the FHIR base as issuer and audience
        self.public_url = (public_url or fhir_base_url.rsplit("/fhir", 1)[0]).rstrip("/")
        self.token_endpoint = f"{self.public_url}/smart/token"
        self.apps = {app.client_id: app for app in settings.registrations()}
        self.backend_clients = backend_clients or {}
        both = set(self.apps) & set(self.backend_clients)
        if both:
            raise ValueError(f"client ids registered both as app and as backend client: {', '.join(sorted(both))}")
        # username → absolute URL of the user's Practitioner resource; set by the web app (from its directory)
        self.fhir_user: Callable[[str], str | None] = lambda username: None
        super().__init__()
        self._query_client = self._client
        self._save_token = self._store_token
        self.register_token_generator("default", SmartAccessTokens(self))
        self.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        self.register_grant(AuthorizationCodeGrant, [PkceS256(), IdToken(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Introspection(self))

    def validate_requested_scope(self, scope: str | None) -> None:
        unknown = [s for s in scope_to_list(scope or "") if not user_facing_scope(s)]
        if unknown:
            raise InvalidScopeError(f"unsupported scope: {' '.join(unknown)}")

    def _client(self, client_id: str) -> Client | BackendClient | None:
        if client_id in self.apps:
            return Client(self.apps[client_id])
        if client_id in self.backend_clients:
            return BackendClient(self.backend_clients[client_id])
        return None

    def _store_token(self, token: dict[str, Any], request: Any) -> None:
        claims = json.loads(jws.extract_compact(token["access_token"].encode()).payload)
        client_id = request.client.get_client_id()
        # A backend token acts for its client: the client id stands where a grant names the clinician.
        context = request.user or LaunchContext(client_id, None, None, need_patient_banner=False)
        self.store.save_token(access_jti=claims["jti"], refresh_token=token.get("refresh_token"),
                              client_id=client_id, context=context,
                              scope=token.get("scope", ""), access_expires_at=claims["exp"],
                              refresh_lifetime_s=self.settings.refresh_token_lifetime_s)

    def context_claims(self, context: LaunchContext | None) -> dict[str, Any]:
        """``patient``, ``encounter`` and ``fhirUser`` of a grant, where it has them: in access tokens, token
        responses and introspection answers alike (none for a backend client's token)."""
        if context is None:
            return {}
        claims = {"patient": context.patient, "encounter": context.encounter,
                  "fhirUser": self.fhir_user(context.username)}
        return {name: value for name, value in claims.items() if value}

    def context_response(self, token: dict[str, Any], context: LaunchContext) -> None:
        """SMART's launch context beside the token (``fhirUser`` only when that scope was granted)."""
        claims = self.context_claims(context)
        if "fhirUser" not in scope_to_list(token.get("scope", "")):
            claims.pop("fhirUser", None)
        token.update(claims, need_patient_banner=context.need_patient_banner)

    def verify_own_token(self, token: str) -> dict[str, Any] | None:
        try:
            return jwt.decode(token, self.store.key_set, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            return None


class SmartAccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens: ``iss``/``aud`` the FHIR base, ``scope``, ``client_id``, ``exp`` and the launch
    context (``patient``, ``encounter``, ``fhirUser``). A refresh token only for ``online_access`` or
    ``offline_access``, as SMART says."""

    def __init__(self, server: SmartServer):
        super().__init__(issuer=server.issuer, alg="RS256", refresh_token_generator=lambda **_: generate_token(48),
                         expires_generator=lambda client, grant_type: server.settings.backend_token_lifetime_s
                         if grant_type == "client_credentials" else server.settings.token_lifetime_s)
        self.server = server

    def get_jwks(self) -> KeySet:
        return self.server.store.key_set

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self.server.fhir_base_url

    def get_extra_claims(self, client: Any, grant_type: str, user: LaunchContext | None,
                         scope: str) -> dict[str, Any]:
        return self.server.context_claims(user)

    def generate(self, grant_type: str, client: Any, user: Any = None, scope: str | None = None,
                 expires_in: int | None = None, include_refresh_token: bool = True) -> dict[str, Any]:
        wants_refresh = bool({"online_access", "offline_access"} & set(scope_to_list(scope or "")))
        return super().generate(grant_type, client, user, scope, expires_in, include_refresh_token and wants_refresh)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    server: SmartServer

    def save_authorization_code(self, code: str, request: Any) -> None:
        context: LaunchContext = request.user
        data = request.payload.data
        self.server.store.save_code(AuthorizationCode(
            code=code, client_id=request.client.get_client_id(), redirect_uri=request.payload.redirect_uri,
            scope=request.scope, username=context.username, patient=context.patient, encounter=context.encounter,
            need_patient_banner=context.need_patient_banner, nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"),
            auth_time=context.auth_time or int(time.time()),
            expires_at=time.time() + self.server.settings.code_lifetime_s))

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.server.store.code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.store.delete_code(authorization_code.code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> LaunchContext:
        return authorization_code.context()

    def create_token_response(self):  # type: ignore[no-untyped-def]
        status, token, headers = super().create_token_response()
        self.server.context_response(token, self.request.user)
        return status, token, headers


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotation: each refresh returns a new refresh token and revokes the one used."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: SmartServer

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        token = self.server.store.by_refresh_token(refresh_token)
        return token if token is not None and token.refresh_usable() else None

    def authenticate_user(self, refresh_token: IssuedToken) -> LaunchContext:
        return refresh_token.context()

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        self.server.store.revoke(refresh_token.id)

    def create_token_response(self):  # type: ignore[no-untyped-def]
        status, token, headers = super().create_token_response()
        self.server.context_response(token, self.request.user)
        return status, token, headers


class PkceS256(CodeChallenge):
    """PKCE is required of every client, with S256 only (SMART forbids ``plain``)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class IdToken(OpenIDCode):
    """OpenID Connect id_token (RS256) with ``fhirUser``, for the ``openid fhirUser`` scopes."""

    def __init__(self, server: SmartServer):
        super().__init__(require_nonce=False)
        self.server = server

    def resolve_client_private_key(self, client: Any) -> Any:
        return self.server.store.key_set

    def get_client_algorithm(self, client: Any) -> str:
        return "RS256"

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.server.store.signing_key.kid or ""}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        return {"iss": self.server.issuer, "aud": [client.get_client_id()],
                "exp": int(time.time()) + self.server.settings.token_lifetime_s}

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # codes are single-use and short-lived; a replayed code is refused by the grant itself

    def generate_user_info(self, user: LaunchContext, scope: str) -> UserInfo:
        info = UserInfo(sub=user.username)
        scopes = scope_to_list(scope)
        fhir_user = self.server.fhir_user(user.username)
        if "fhirUser" in scopes and fhir_user:
            info["fhirUser"] = fhir_user
        if "profile" in scopes:
            info["preferred_username"] = user.username
        return info


class PrivateKeyJwt(JWTBearerClientAssertion):
    """``private_key_jwt`` per SMART: RS384/ES384, ``iss`` = ``sub`` = client id, ``aud`` = token URL, ``exp`` at
    most five minutes ahead, ``jti`` never seen before; keys from the registration or its ``jwks_uri``."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: SmartServer):
        super().__init__(validate_jti=True, leeway=30)
        self.server = server
        self._jwks_cache: dict[str, tuple[float, KeySet]] = {}

    def get_audiences(self) -> list[str]:
        return [self.server.token_endpoint]

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return self.server.store.first_use_of_assertion(f"{claims['sub']}:{jti}", float(claims["exp"]))

    def verify_claims(self, claims: Any) -> None:
        super().verify_claims(claims)
        if claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME_S + self.leeway:
            raise InvalidClientError(description="the client assertion must expire within five minutes")

    def resolve_client_public_key(self, client: Client) -> KeySet:
        registration = client.registration
        if registration.jwks:
            return KeySet.import_key_set(registration.jwks)
        if not registration.jwks_uri:
            raise InvalidClientError(description="the client has no registered keys")
        cached = self._jwks_cache.get(registration.jwks_uri)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            key_set = KeySet.import_key_set(requests.get(registration.jwks_uri, timeout=5).json())
        except (requests.RequestException, ValueError, JoseError) as error:
            raise InvalidClientError(description=f"the client's jwks_uri could not be read: {error}") from None
        self._jwks_cache[registration.jwks_uri] = (time.monotonic() + 300, key_set)
        return key_set

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=CLIENT_ASSERTION_ALGORITHMS)
        except JoseError as error:
            raise InvalidClientError(description=f"client assertion rejected: {error.error}") from None
        self.verify_claims(token.claims)
        return token.claims


class Introspection(IntrospectionEndpoint):
    """RFC 7662 for resource servers that authenticate as a registered confidential app."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def __init__(self, server: SmartServer):
        super().__init__(server)
        self.smart = server

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        if token_type_hint != "refresh_token":
            claims = self.smart.verify_own_token(token_string)
            if claims and claims.get("jti"):
                return self.smart.store.by_access_jti(claims["jti"])
        return self.smart.store.by_refresh_token(token_string)

    def check_permission(self, token: IssuedToken, client: Client, request: Any) -> bool:
        return True  # any authenticated confidential app may check a token presented to it

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        return {
            "active": True, "scope": token.scope, "client_id": token.client_id, "token_type": "Bearer",
            "sub": token.username, "iss": self.smart.issuer, "aud": self.smart.fhir_base_url,
            "iat": int(token.issued_at), "exp": int(token.access_expires_at),
            **self.smart.context_claims(token.context()),
        }
