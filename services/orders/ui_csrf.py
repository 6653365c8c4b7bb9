"""CSRF guard for the orders pages' forms.

The SMART session cookie is SameSite=Lax, which keeps it off cross-site POSTs, but every service and the EHR sandbox
share one host (127.0.0.1 on different ports) and ports do not make another *site*. So each form POST must also
(1) come from this app's own origin (``Origin``, or ``Referer`` when a browser sends no ``Origin``), and (2) carry a
token tied to the session: an HMAC of the session cookie, which a page on another origin can neither read nor
compute (the cookie is HttpOnly). Nothing is stored; any replica of the service computes the same token.

The JSON API needs none of this: it only reads ``application/json`` bodies, which another origin cannot send
without a CORS preflight that the service never allows."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, request

from shared.smart import SmartAuthError

FIELD = "csrf_token"
_PURPOSE = b"ketalink-orders-ui-form"


def csrf_token() -> str:
    """The token for this browser's session; empty when the request has no session cookie (no form can pass)."""
    cookie = request.cookies.get(_cookie_name(), "")
    if not cookie:
        return ""
    return hmac.new(cookie.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def check_form_post() -> None:
    """Raise a 403 (shown as the SMART error page) unless the POST comes from this app's page in this session."""
    if not _same_origin():
        raise SmartAuthError(403, "This form was not sent from a page of this app, so it was not accepted. "
                                  "Reload the page and try again.", title="Form not accepted", page="csrf")
    expected = csrf_token()
    sent = request.form.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise SmartAuthError(403, "This form has expired or belongs to another session, so it was not accepted. "
                                  "Reload the page and try again.", title="Form not accepted", page="csrf")


def _same_origin() -> bool:
    allowed = {request.host.lower()}
    public_base_url = getattr(_smart_settings(), "public_base_url", "") or ""
    if public_base_url:
        allowed.add(urlsplit(public_base_url).netloc.lower())
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() in allowed
    referer = request.headers.get("Referer")
    if referer:
        return urlsplit(referer).netloc.lower() in allowed
    return False  # a browser posting a form sends at least one of them


def _smart_settings() -> object | None:
    smart = current_app.extensions.get("smart")
    return smart.settings if smart is not None else None


def _cookie_name() -> str:
    smart = current_app.extensions.get("smart")
    return smart.cookie_name if smart is not None else ""
