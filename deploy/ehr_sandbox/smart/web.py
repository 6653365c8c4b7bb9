"""The sandbox EHR's SMART pages and endpoints (a Flask app mounted into the FHIR server's process):

- ``GET /fhir/.well-known/smart-configuration`` - discovery (SMART App Launch 2.x)
- ``GET|POST /smart/authorize`` - clinician login, then approve/deny, with a patient picker for standalone launches
- ``GET|POST /smart/login``, ``POST /smart/logout`` - the EHR's own sign-in (demo users)
- ``POST /smart/token`` - authorization_code (PKCE S256) and refresh_token grants; client_credentials with
  private_key_jwt for backend clients (SMART Backend Services)
- ``POST /smart/introspect`` - RFC 7662; ``GET /smart/jwks`` - the key that signs access and id tokens
- ``GET /chart`` - the seeded patients with a launch button per registered app; ``POST /chart/launch`` mints a launch
  bound to the patient; the workspace's apps (no patient): ``POST /chart/launch-user`` mints one with no patient
"""
from __future__ import annotations

import hmac
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, OAuth2Error
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import Flask, Response, abort, jsonify, redirect, render_template, request, session, url_for

from deploy.ehr_sandbox.smart.directory import Directory
from deploy.ehr_sandbox.smart.server import CONTEXT_SCOPES, SmartServer
from deploy.ehr_sandbox.smart.settings import DEMO_USERS, DemoUser
from deploy.ehr_sandbox.smart.store import LaunchContext
from shared.smart.scopes import ScopeContext, parse_scope

USERS = {user.username: user for user in DEMO_USERS}
CAPABILITIES = [
    "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
    "client-confidential-asymmetric", "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient",
    "context-banner", "permission-offline", "permission-online", "permission-patient", "permission-user",
    "permission-v1", "permission-v2", "sso-openid-connect",
]


def create_auth_app(server: SmartServer, directory: Directory, secret_path: Path) -> Flask:
    app = Flask("ehr-sandbox-smart", template_folder=str(Path(__file__).parent / "templates"))
    app.secret_key = _secret(secret_path)
    app.config.update(SESSION_COOKIE_NAME="ehr_sandbox_login", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=8 * 3600)
    server.fhir_user = lambda username: directory.practitioner_url(USERS[username]) if username in USERS else None
    base = server.public_url

    @app.get("/fhir/.well-known/smart-configuration")
    def smart_configuration():  # type: ignore[no-untyped-def]
        return jsonify({
            "issuer": server.issuer,
            "jwks_uri": f"{base}/smart/jwks",
            "authorization_endpoint": f"{base}/smart/authorize",
            "token_endpoint": server.token_endpoint,
            "introspection_endpoint": f"{base}/smart/introspect",
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                      "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": [*CONTEXT_SCOPES, "patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds",
                                 "patient/*.read", "patient/*.write", "patient/*.*", "user/*.read", "user/*.write",
                                 "user/*.*", "system/*.rs", "system/*.cruds", "system/*.read", "system/*.*"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": CAPABILITIES,
        })

    @app.get("/smart/jwks")
    def jwks():  # type: ignore[no-untyped-def]
        return jsonify(server.store.key_set.as_dict(private=False))

    @app.post("/smart/token")
    def token():  # type: ignore[no-untyped-def]
        return server.create_token_response()

    @app.post("/smart/introspect")
    def introspect():  # type: ignore[no-untyped-def]
        return server.create_endpoint_response("introspection")

    # -- the EHR's own sign-in -------------------------------------------------------------------------------
    @app.route("/smart/login", methods=["GET", "POST"])
    def login():  # type: ignore[no-untyped-def]
        next_url = request.values.get("next", "")
        if not next_url.startswith(("/smart/authorize", "/chart/order/")):
            next_url = "/chart"
        if request.method == "GET":
            return render_template("login.html", users=DEMO_USERS, next=next_url, csrf=_csrf(), error=None)
        _check_csrf()
        user = USERS.get(request.form.get("username", ""))
        password = request.form.get("password", "")
        if user is None or not hmac.compare_digest(password.encode(), server.settings.demo_password.encode()):
            return render_template("login.html", users=DEMO_USERS, next=next_url, csrf=_csrf(),
                                   error="Unknown user or wrong password."), 401
        session.clear()
        session.permanent = True
        session.update(user=user.username, auth_time=int(time.time()))
        return redirect(next_url, code=303)

    @app.post("/smart/logout")
    def logout():  # type: ignore[no-untyped-def]
        session.clear()
        return redirect(url_for("chart"), code=303)

    # -- authorization ---------------------------------------------------------------------------------------
    @app.route("/smart/authorize", methods=["GET", "POST"])
    def authorize():  # type: ignore[no-untyped-def]
        """Client and redirect URI first (errors shown here: never redirect to a URI not registered), then the
        clinician's sign-in, then SMART's own checks (``aud``, ``launch``), then approve/deny."""
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            if error.redirect_uri:
                return server.handle_error_response(None, error)
            return render_template("error.html", error=error.error, description=error.description), 400
        user = _signed_in()
        if user is None:
            if request.method == "POST":
                abort(400)
            return redirect(url_for("login", next=request.full_path), code=303)
        state = request.args.get("state")
        if (request.args.get("aud") or "").rstrip("/") != server.fhir_base_url:
            return _refuse(grant.redirect_uri, state, "aud must be this EHR's FHIR base URL "
                                                      f"({server.fhir_base_url})")
        launch_id = request.args.get("launch")
        launched = server.store.launch(launch_id) if launch_id else None
        if launch_id and launched is None:
            return _refuse(grant.redirect_uri, state, "unknown or expired launch")
        scopes = scope_to_list(grant.request.scope or "")
        registration = server.apps[grant.client.get_client_id()]
        if launched and launched.client_id and launched.client_id != registration.client_id:
            return _refuse(grant.redirect_uri, state, "this launch was made for another app")
        if launched and launched.from_workspace and _wants_patient(scopes):
            # SMART: a patient-level grant comes with a patient. A launch from the workspace has none, and the EHR
            # does not make one up: the app is told to be opened from a patient's chart.
            return _refuse(grant.redirect_uri, state, "this launch, from the clinician's workspace, has no patient: "
                           "launch/patient and patient/ scopes are not granted with it; open the app from a "
                           "patient's chart", error=InvalidScopeError)
        needs_patient = launched is None and _wants_patient(scopes)
        patients = directory.patients() if needs_patient else []
        in_context = directory.patient(launched.patient) if launched and launched.patient else None
        page = {"app": registration, "user": user, "scopes": scopes, "patients": patients,
                "in_context": in_context, "workspace": bool(launched and launched.from_workspace),
                "csrf": _csrf(), "action": request.full_path, "error": None}
        if request.method == "GET":
            return render_template("authorize.html", **page)
        _check_csrf()
        if request.form.get("decision") != "approve":
            return server.create_authorization_response(grant=grant, grant_user=None)
        if launched:  # from a patient's chart: that patient and visit; from the workspace: none
            patient, encounter = launched.patient, launched.encounter
        elif needs_patient:
            patient, encounter = request.form.get("patient", ""), None
            if patient not in {p.patient_id for p in patients}:
                return render_template("authorize.html", **(page | {"error": "Choose a patient."})), 400
        else:
            patient, encounter = None, None
        context = LaunchContext(user.username, patient, encounter, need_patient_banner=launched is None,
                                auth_time=int(session.get("auth_time", time.time())))
        return server.create_authorization_response(grant=grant, grant_user=context)

    def _refuse(redirect_uri: str, state: str | None, description: str,
                error: type[OAuth2Error] = InvalidRequestError) -> Response:
        return server.handle_error_response(None, error(description, redirect_uri=redirect_uri, state=state))

    # -- the chart ---------------------------------------------------------------------------------------------
    @app.get("/chart")
    def chart():  # type: ignore[no-untyped-def]
        return render_template("chart.html", patients=directory.patients(), apps=list(server.apps.values()),
                               user=_signed_in(), csrf=_csrf())

    @app.post("/chart/launch")
    def chart_launch():  # type: ignore[no-untyped-def]
        """What an EHR does when a clinician opens an app from a chart: mint a launch id bound to the patient and
        the current visit, and open the app's launch URL with ``iss`` and ``launch``."""
        _check_csrf()
        registration = server.apps.get(request.form.get("app", ""))
        patient = directory.patient(request.form.get("patient", ""))
        if registration is None or patient is None:
            abort(400)
        launch_id = server.store.mint_launch(patient.patient_id, directory.clinic_visit(patient),
                                             server.settings.launch_lifetime_s)
        return _open(registration.launch_url, launch_id)

    @app.post("/chart/launch-user")
    def chart_launch_user():  # type: ignore[no-untyped-def]
        """What an EHR does when a clinician opens an app from the workspace, outside any chart: mint a launch id
        with no patient and no encounter, good for this app only, and open the page's user-level launch URL."""
        _check_csrf()
        registration = server.apps.get(request.form.get("app", ""))
        page = registration.user_launch(request.form.get("user_launch", "")) if registration else None
        if registration is None or page is None:
            abort(400)
        launch_id = server.store.mint_user_launch(registration.client_id, server.settings.launch_lifetime_s)
        return _open(page.url, launch_id)

    def _open(launch_url: str, launch_id: str) -> Response:
        separator = "&" if urlsplit(launch_url).query else "?"
        query = urlencode({"iss": server.fhir_base_url, "launch": launch_id})
        return redirect(f"{launch_url}{separator}{query}", code=303)

    return app


def _wants_patient(scopes: list[str]) -> bool:
    """A patient must be chosen for ``launch/patient`` or any patient-level resource scope."""
    return "launch/patient" in scopes or any(
        (parsed := parse_scope(scope)) is not None and parsed.context is ScopeContext.PATIENT for scope in scopes)


def _signed_in() -> DemoUser | None:
    return USERS.get(session.get("user", ""))


def _csrf() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not hmac.compare_digest(sent, str(session.get("csrf", ""))):
        abort(400, "the form expired; go back and try again")


def _secret(path: Path) -> bytes:
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()
