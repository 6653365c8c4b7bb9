"""The browser side of a SMART launch: ``/launch`` (EHR or standalone), the OAuth callback, ``/logout``, the
session's public context at ``/smart/session`` and, for ``private_key_jwt`` clients, their public key set."""
from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from shared.smart.access import SmartAuthError, current_context
from shared.smart.discovery import DiscoveryError, normalise_issuer
from shared.smart.oauth import TokenEndpointError
from shared.smart.scopes import scopes_for_server
from shared.smart.sessions import PendingLaunch, digest, new_secret, session_from_token
from shared.smart.settings import ScopeVersion
from shared.smart.tokens import InvalidToken, verify_jwt

if TYPE_CHECKING:
    from shared.smart.app import SmartAuth

log = logging.getLogger(__name__)


def make_blueprints(smart: "SmartAuth") -> tuple[Blueprint, Blueprint]:
    """(views open to anyone: launch, callback, logout, jwks; views that need the session: /smart/session).
    Blueprints are made per app because the callback's path is a setting; the views are module-level and reach
    the app's ``SmartAuth`` through ``app.extensions["smart"]``."""
    public = Blueprint("smart_public", __name__, template_folder="templates")
    protected = Blueprint("smart", __name__, template_folder="templates")
    public.add_url_rule("/launch", endpoint="launch", view_func=launch, methods=["GET"])
    public.add_url_rule("/launch/user/<view>", endpoint="user_launch", view_func=user_launch, methods=["GET"])
    public.add_url_rule(smart.settings.redirect_path, endpoint="callback", view_func=callback, methods=["GET"])
    public.add_url_rule("/logout", endpoint="logout", view_func=logout, methods=["GET", "POST"])  # GET: a form
    public.add_url_rule("/smart/jwks.json", endpoint="jwks", view_func=jwks, methods=["GET"])
    protected.add_url_rule("/smart/session", endpoint="session_info", view_func=session_info, methods=["GET"])
    return public, protected


def _smart() -> SmartAuth:
    return cast("SmartAuth", current_app.extensions["smart"])


def launch() -> ResponseReturnValue:
    """EHR launch (``iss`` and ``launch`` from the EHR) or standalone launch (no ``launch``; ``iss`` optional
    when the service knows one EHR): discover the EHR's endpoints and send the browser to authorize."""
    settings = _smart().settings
    return _authorize(lambda launch_id: settings.scopes if launch_id else settings.standalone_scopes, "")


def user_launch(view: str) -> ResponseReturnValue:
    """A launch without a patient for a page across patients (``board``: the suite board, ``ops``: the operations
    page): standalone, or from the EHR outside a patient's chart (``iss`` and ``launch``), asking for that view's
    user-level scopes (``SMART_BOARD_SCOPES``, ``SMART_OPS_SCOPES``) and landing on its page."""
    smart = _smart()
    found = smart.settings.user_launch(view) if view in smart.user_views else None
    if found is None:
        abort(404)
    _landing, scopes = found
    return _authorize(lambda launch_id: f"launch {scopes}" if launch_id else scopes, view)


def _authorize(scopes_for: Callable[[str | None], str], view: str) -> ResponseReturnValue:
    """Discover the EHR's endpoints and send the browser to authorize. A user-level launch's ``view`` is the
    ``state``'s prefix: the callback lands there, and a changed state matches no stored launch."""
    smart = _smart()
    settings = smart.settings
    launch_id = request.args.get("launch") or None
    iss = request.args.get("iss") or (smart.allowed_issuers[0] if not launch_id and smart.allowed_issuers
                                      else "")
    if not iss:
        raise SmartAuthError(400, "the EHR did not say which FHIR server it is (no iss parameter)",
                             title="Launch failed")
    if normalise_issuer(iss) not in smart.allowed_issuers:
        log.warning("smart launch from an unknown issuer")
        raise SmartAuthError(400, f"This app is not set up to work with the EHR at {iss}. Ask your system "
                                  "administrator to add it (SMART_ALLOWED_ISSUERS).", title="Unknown EHR",
                             page="unknown-iss")
    iss = normalise_issuer(iss)
    try:
        configuration = smart.discovery.configuration(iss)
    except DiscoveryError as error:
        raise SmartAuthError(502, f"The EHR's SMART configuration could not be read ({error}).",
                             title="EHR not reachable") from None
    wanted = scopes_for(launch_id)
    v2 = configuration.supports_v2_scopes if settings.scope_version is ScopeVersion.AUTO else \
        settings.scope_version is ScopeVersion.V2
    scope = scopes_for_server(wanted, v2)
    redirect_uri = (settings.public_base_url or request.host_url).rstrip("/") + settings.redirect_path
    authorization = smart.oauth.authorization_request(configuration, redirect_uri, scope, launch_id,
                                                      state_prefix=f"{view}." if view else "")
    browser = request.cookies.get(smart.launch_cookie_name) or new_secret()
    smart.store.save_launch(PendingLaunch(
        state=authorization.state, browser_hash=digest(browser), iss=iss, launch=launch_id,
        code_verifier=authorization.code_verifier, redirect_uri=redirect_uri, scope=scope,
        expires_at=time.time() + settings.launch_timeout_s))
    response = redirect(authorization.url, code=302)
    smart.set_cookie(response, smart.launch_cookie_name, browser, settings.launch_timeout_s)
    response.headers["Cache-Control"] = "no-store"
    return response


def callback() -> ResponseReturnValue:
    """The EHR sends the browser back here with ``code`` and ``state`` (or ``error``)."""
    smart = _smart()
    settings = smart.settings
    state = request.args.get("state", "")
    pending = smart.store.take_launch(state) if state else None
    browser = request.cookies.get(smart.launch_cookie_name, "")
    if pending is None or not hmac.compare_digest(pending.browser_hash, digest(browser)):
        log.warning("smart callback with a bad state")
        raise SmartAuthError(400, "This sign-in answer does not belong to a launch started in this browser "
                                  "(unknown or expired state). Open the app again from the EHR.",
                             title="Launch not recognised", page="bad-state")
    if request.args.get("error"):
        error = request.args["error"]
        description = request.args.get("error_description", "")
        if error == "access_denied":
            raise SmartAuthError(403, "Access was not granted in the EHR, so the app cannot open. "
                                      "Open it again from the EHR to approve it.",
                                 title="Access not granted", page="denied")
        raise SmartAuthError(400, f"The EHR refused the launch: {error}"
                                  + (f" ({description})" if description else ""), title="Launch failed")
    code = request.args.get("code")
    if not code:
        raise SmartAuthError(400, "The EHR's answer has no authorization code.", title="Launch failed")
    try:
        configuration = smart.discovery.configuration(pending.iss)
        token = smart.oauth.exchange_code(configuration, code, pending.redirect_uri, pending.code_verifier)
    except DiscoveryError as error:
        raise SmartAuthError(502, f"The EHR could not be reached ({error}).", title="EHR not reachable") from None
    except TokenEndpointError as error:
        log.warning("smart code exchange refused", extra={"error": error.error})
        raise SmartAuthError(400, f"The EHR refused to issue a token ({error.error}).",
                             title="Launch failed") from None
    if not token.get("access_token"):
        raise SmartAuthError(400, "The EHR's token response has no access token.", title="Launch failed")
    fhir_user = token.get("fhirUser")
    if token.get("id_token") and configuration.jwks_uri:
        try:
            identity = verify_jwt(token["id_token"], lambda refresh: smart.discovery.key_set(
                configuration.jwks_uri, refresh=refresh), issuers=configuration.token_issuers,
                                  audiences={smart.client_id}, leeway_s=settings.clock_skew_s)
        except (InvalidToken, DiscoveryError) as error:
            raise SmartAuthError(400, f"The EHR's id_token is not valid ({error}).",
                                 title="Launch failed") from None
        fhir_user = identity.get("fhirUser") or fhir_user
    secret = new_secret()
    now = time.time()
    smart.store.create(session_from_token(digest(secret), pending.iss, token, pending.scope, fhir_user, now,
                                          settings.session_lifetime_s))
    previous = request.cookies.get(smart.cookie_name)
    if previous:
        smart.store.delete(digest(previous))
    view = pending.state.partition(".")[0] if "." in pending.state else ""
    user_view = settings.user_launch(view) if view in smart.user_views else None
    log.info("smart launch complete", extra={"standalone": pending.launch is None, "view": view or "app"})
    response = redirect(user_view[0] if user_view else settings.landing_path, code=302)
    smart.set_cookie(response, smart.cookie_name, secret)
    response.headers["Cache-Control"] = "no-store"
    return response


def logout() -> ResponseReturnValue:
    """POST (the pages' sign-out form, with the form guard: from this app's page in this browser session) ends the
    session. GET only asks: a link on any site could otherwise sign a clinician out mid-infusion."""
    from shared.ui.forms import check_form_post, csrf_input  # the pages' form guard (shared.ui imports smart)

    smart = _smart()
    cookie = request.cookies.get(smart.cookie_name)
    if request.method == "GET":
        page = "smart/sign_out.html" if cookie else "smart/signed_out.html"
        response = Response(render_template(page, csrf_input=csrf_input), mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response
    check_form_post()
    if cookie:
        smart.store.delete(digest(cookie))
    response = Response(render_template("smart/signed_out.html"), mimetype="text/html")
    smart.clear_cookie(response, smart.cookie_name)
    response.headers["Cache-Control"] = "no-store"
    return response


def jwks() -> ResponseReturnValue:
    """This client's public key, for an EHR that registers it by ``jwks_uri`` (private_key_jwt)."""
    smart = _smart()
    if smart.client_key is None:
        abort(404)
    return jsonify(smart.client_key.public_jwks())


def session_info() -> ResponseReturnValue:
    """Launch context for the UI (patient, encounter, user; never the tokens)."""
    context = current_context()
    return jsonify(context.public_json() if context else {})
