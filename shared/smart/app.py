"""SMART on one Flask app: launch/callback/logout views, the server-side session, and authentication of every
request (session cookie for the UI, bearer token for machine calls) before any view runs."""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request

from shared.api import OPENAPI_DOCUMENT
from shared.config import SettingsError, load_settings
from shared.edge import EdgeSettings, edge_for, install_edge
from shared.openapi import declare_smart
from shared.smart.access import SmartAuthError, SmartContext, check_requirements, scopes_tuple
from shared.smart.discovery import Discovery, normalise_issuer
from shared.smart.oauth import ClientKey, SmartOAuthClient, TokenEndpointError
from shared.smart.sessions import SessionStore, SmartSession, digest
from shared.smart.settings import BearerValidation, CookieSecure, SmartSettings
from shared.smart.tokens import BearerVerifier, InvalidToken
from shared.smart.views import make_blueprints
from shared.web import operation_outcome

log = logging.getLogger(__name__)

#: Endpoints every service keeps open: probes, metrics and the API description. Static files (the app's
#: ``static`` and every blueprint's ``<name>.static``: stylesheets, scripts) are open too (see ``is_public``).
OPEN_ENDPOINTS = frozenset({"healthz", "readyz", "metrics", "openapi", "static"})
REALM = "ketalink"


class SmartAuth:
    """Everything SMART for one app; ``app.extensions["smart"]``."""

    def __init__(self, app: Flask, engine: Any, settings: SmartSettings, *, client_id: str,
                 allowed_issuers: tuple[str, ...], public_endpoints: Iterable[str] = (),
                 user_views: Iterable[str] = ()):
        self.settings = settings
        self.user_views = frozenset(user_views)  # the user-level launches this app offers (/launch/user/<view>)
        self.client_id = client_id
        self.accepted_client_ids = frozenset(settings.accepted_client_ids or (client_id,))
        self.allowed_issuers = tuple(normalise_issuer(i) for i in allowed_issuers)
        self.cookie_name = settings.cookie_name or f"ketalink_smart_{_cookie_safe(client_id)}"
        self.launch_cookie_name = f"{self.cookie_name}_launch"
        self.store = SessionStore(engine)
        self.discovery = Discovery(settings.http_timeout_s)
        self.client_key = ClientKey.from_file(settings.private_key_path) if settings.private_key_path else None
        self.oauth = SmartOAuthClient(settings, client_id, self.client_key)
        self.bearer = BearerVerifier(self.discovery, self.allowed_issuers, settings.clock_skew_s)
        self.public_endpoints = OPEN_ENDPOINTS | set(public_endpoints)
        self._refresh_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

        app.extensions["smart"] = self
        for blueprint in make_blueprints(self):
            app.register_blueprint(blueprint)
        app.before_request(self._authenticate)
        app.register_error_handler(SmartAuthError, self.error_response)

    # -- request authentication --------------------------------------------------------------------------------
    def _authenticate(self) -> Response | tuple[Response, int] | None:
        g.smart_auth_required = self.settings.auth_required
        endpoint = request.endpoint
        if endpoint is None or self.is_public(endpoint):
            return None
        try:
            g.smart_context = self.context_from_request()
            if g.smart_context is None and self.settings.auth_required:
                raise SmartAuthError(401, "authentication required: launch the app from the EHR, or send an "
                                          "EHR access token as Authorization: Bearer", page="launch-required",
                                     title="Launch from the EHR")
            check_requirements(current_app.view_functions.get(endpoint))
        except SmartAuthError as error:
            return self.error_response(error)
        return None

    def context_from_request(self) -> SmartContext | None:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer" or not credentials.strip():
                raise SmartAuthError(401, "only Bearer tokens are accepted", oauth_error="invalid_request")
            return self._bearer_context(credentials.strip())
        cookie = request.cookies.get(self.cookie_name)
        if cookie:
            return self.session_context(cookie)
        return None

    def _bearer_context(self, token: str) -> SmartContext:
        try:
            if self.settings.bearer_validation is BearerValidation.INTROSPECTION:
                claims = self.bearer.verify_by_introspection(token, self._introspect)
            else:
                claims = self.bearer.verify_jwt(token)
        except InvalidToken as error:
            raise SmartAuthError(401, str(error), oauth_error="invalid_token") from None
        self._check_client(claims.client_id)
        return SmartContext(source="bearer", iss=claims.iss, access_token=token, scopes=scopes_tuple(claims.scope),
                            patient=claims.patient, encounter=claims.encounter, fhir_user=claims.fhir_user,
                            client_id=claims.client_id)

    def _check_client(self, client_id: str | None) -> None:
        """A token the EHR issued to another app (another SMART app, another Ketalink service) is not for this
        service: the EHR granted its scopes for that app's purpose. Only ``SMART_ACCEPTED_CLIENT_IDS`` (default:
        this service's own client id) are accepted; a token that names no client is refused as well."""
        if client_id is None:
            raise SmartAuthError(401, "the token names no client (client_id or azp): this service accepts tokens "
                                      "issued to the clients in SMART_ACCEPTED_CLIENT_IDS only",
                                 oauth_error="invalid_token")
        if client_id not in self.accepted_client_ids:
            shown = "".join(ch for ch in client_id[:64] if ch.isascii() and ch.isprintable() and ch not in '"\\')
            raise SmartAuthError(401, f"the token was issued to another client ({shown}), not one "
                                      "this service accepts (SMART_ACCEPTED_CLIENT_IDS)", oauth_error="invalid_token")

    def _introspect(self, configuration: Any, token: str) -> dict[str, Any]:
        try:
            return self.oauth.introspect(configuration, token)
        except TokenEndpointError as error:
            log.warning("introspection failed", extra={"error": error.error})
            return {"active": False}

    def session_context(self, cookie: str) -> SmartContext:
        session_hash = digest(cookie)
        session = self.store.get(session_hash)
        now = time.time()
        if session is None or session.expires_at <= now:
            if session is not None:
                self.store.delete(session_hash)
            raise _session_ended("Your session has ended.")
        if session.access_token_due(now, self.settings.refresh_margin_s):
            session = self._refresh(session)
        return SmartContext(source="session", iss=session.iss, access_token=session.access_token,
                            scopes=scopes_tuple(session.scope), patient=session.patient, encounter=session.encounter,
                            fhir_user=session.fhir_user, need_patient_banner=session.need_patient_banner,
                            client_id=self.client_id, extra=session.context, session_hash=session_hash)

    def _refresh(self, session: SmartSession) -> SmartSession:
        """A new access token before the old one expires. One refresh per session at a time in this process; a
        refresh token rotated by a concurrent request elsewhere shows as a newer version in the store."""
        with self._lock_for(session.session_hash):
            latest = self.store.get(session.session_hash)
            now = time.time()
            if latest is None:
                raise _session_ended("Your session has ended.")
            if not latest.access_token_due(now, self.settings.refresh_margin_s):
                return latest  # another request refreshed it meanwhile
            if not latest.refresh_token:
                self.store.delete(latest.session_hash)
                raise _session_ended("The EHR's access token expired and it gave no refresh token.")
            try:
                token = self.oauth.refresh(self.discovery.configuration(latest.iss), latest.refresh_token)
            except TokenEndpointError as error:
                again = self.store.get(latest.session_hash)
                if again is not None and again.version != latest.version and \
                        not again.access_token_due(time.time(), self.settings.refresh_margin_s):
                    return again
                log.info("smart refresh refused", extra={"error": error.error})
                if error.error == "temporarily_unavailable" and latest.access_expires_at and \
                        latest.access_expires_at > now:
                    return latest  # still valid for a little while: try again on a later request
                self.store.delete(latest.session_hash)
                raise _session_ended("The EHR no longer accepts this session.") from None
            refreshed = latest.with_tokens(token, now)
            if not self.store.replace_tokens(latest, refreshed):
                return self.store.get(latest.session_hash) or refreshed
            log.info("smart token refreshed")
            return refreshed

    def _lock_for(self, session_hash: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._refresh_locks) > 10_000:
                self._refresh_locks.clear()
            return self._refresh_locks.setdefault(session_hash, threading.Lock())

    def is_public(self, endpoint: str) -> bool:
        """Open without credentials: probes, metrics, the API description, the launch views, static files (they
        hold no patient data; a page's stylesheet must load on the "launch from the EHR" page too) and the
        service's own ``public_endpoints``."""
        return (endpoint in self.public_endpoints or endpoint.startswith("smart_public.")
                or endpoint.endswith(".static"))

    def endpoints_without_requirements(self, app: Flask) -> list[str]:
        """Protected endpoints with no ``@requires``: authenticated but not scope-checked unless the view calls
        ``require()`` itself. For a service's own test that every endpoint is declared."""
        return sorted(endpoint for endpoint, view in app.view_functions.items()
                      if not self.is_public(endpoint) and endpoint != "smart.session_info"
                      and not getattr(view, "smart_requirements", None))

    # -- responses ---------------------------------------------------------------------------------------------
    def error_response(self, error: SmartAuthError) -> Response:
        if wants_html():
            relaunch = error.page in ("session-ended", "launch-required")
            response = Response(render_template("smart/error.html", title=error.title or _TITLES[error.status],
                                                message=error.message, page=error.page, relaunch=relaunch,
                                                user_launch=self.user_launch_for(request.path) if relaunch else None),
                                status=error.status, mimetype="text/html")
        else:
            response = jsonify(operation_outcome([("", error.message)], code=error.fhir_code))
            response.status_code = error.status
            response.mimetype = "application/fhir+json"
        if error.status == 401:
            parts = [f'realm="{REALM}"']
            if error.oauth_error:
                parts.append(f'error="{error.oauth_error}"')
                parts.append(f'error_description="{_quote(error.message)}"')
            response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(parts)
        elif error.status == 403 and error.oauth_error:
            response.headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", error="{error.oauth_error}"'
                                                    + (f', scope="{error.scope}"' if error.scope else ""))
        response.headers["Cache-Control"] = "no-store"
        return response

    def user_launch_for(self, path: str) -> str | None:
        """The launch that signs in again to a page without a patient (a wall screen's board whose session ended
        is reopened by its own launch, not from a patient's chart); None for other pages."""
        for view in sorted(self.user_views):
            found = self.settings.user_launch(view)
            if found and (path == found[0] or path.startswith(found[0] + "/") or path.startswith(found[0] + ".")):
                return f"/launch/user/{view}"
        return None

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        """HttpOnly, SameSite, Secure over https. Without ``max_age`` it lasts until the browser closes: the
        session's lifetime is kept on the server, so an ended session can say so instead of looking unknown."""
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, secure=self.cookie_secure(),
                            samesite=self.settings.cookie_samesite)

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, secure=self.cookie_secure(),
                               samesite=self.settings.cookie_samesite)

    def cookie_secure(self) -> bool:
        if self.settings.cookie_secure is CookieSecure.AUTO:
            return request.is_secure
        return self.settings.cookie_secure is CookieSecure.TRUE


_TITLES = {400: "Launch failed", 401: "Sign-in needed", 403: "Not allowed", 502: "EHR not reachable"}


def _session_ended(message: str) -> SmartAuthError:
    return SmartAuthError(401, f"{message} Open the app again from the patient's chart in the EHR.",
                          oauth_error="invalid_token", page="session-ended", title="Session ended")


def wants_html() -> bool:
    best = request.accept_mimetypes.best_match(["application/fhir+json", "application/json", "text/html"])
    return best == "text/html"


def _quote(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")


def _cookie_safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def install_smart(app: Flask, runtime: Any, *, public_endpoints: Iterable[str] = (),
                  settings: SmartSettings | None = None, user_views: Iterable[str] = ("ops",)) -> SmartAuth:
    """What a service's ``build()`` calls: SMART settings from ``SMART_*`` (client id default ``ketalink-<name>``,
    allowed issuer default ``EHR_FHIR_BASE_URL``), session table in the service's database, the launch views and
    authentication of every request except probes, metrics, ``/openapi.json``, static files and
    ``public_endpoints``; and the web edge in front of it (Host check, security headers: ``shared/edge.py``).
    ``user_views``: the launches without a patient it offers (``/launch/user/ops``; documentation adds ``board``)."""
    if settings is None:
        try:
            settings = load_settings(SmartSettings, "SMART_")
        except SettingsError as error:
            sys.exit(f"{runtime.name}: configuration error: {error}")
        clinic_time = getattr(runtime, "clinic_time", None)
        if not settings.auth_required and not getattr(clinic_time, "local_run", False):
            # Without sign-in there is no clinician to check: every scope and prescriber check is off.
            sys.exit(f"{runtime.name}: configuration error: SMART_AUTH_REQUIRED=false turns off sign-in and every "
                     "role check (who may decide eligibility and sign); it is for local runs only "
                     "(KETALINK_LOCAL_RUN=true)")
    if not settings.public_base_url and runtime.settings.public_base_url.startswith(("http://", "https://")):
        settings = replace(settings, public_base_url=runtime.settings.public_base_url)
    issuers = settings.allowed_issuers or (runtime.settings.ehr_fhir_base_url,)
    try:
        edge_settings = load_settings(EdgeSettings, "KETALINK_")
    except SettingsError as error:
        sys.exit(f"{runtime.name}: configuration error: {error}")
    # Before authentication: a request naming another Host is refused first (shared/edge.py); the pages may be
    # framed by the EHR(s) this app trusts.
    install_edge(app, edge_for((runtime.settings.public_base_url, settings.public_base_url),
                               bool(getattr(getattr(runtime, "clinic_time", None), "local_run", False)),
                               issuers, edge_settings))
    smart = SmartAuth(app, runtime.engine, settings, client_id=settings.client_id or f"ketalink-{runtime.name}",
                      allowed_issuers=issuers, public_endpoints=public_endpoints, user_views=user_views)
    document = app.extensions.get(OPENAPI_DOCUMENT)
    if document is not None:  # the API's security schemes name this deployment's cookie and EHR
        declare_smart(document, smart.cookie_name, smart.allowed_issuers[0] if smart.allowed_issuers else "")
    return smart
