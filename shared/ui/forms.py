"""The guard on every form post of the clinician pages (cross-site request forgery).

The SMART session cookie is SameSite=Lax, which keeps it off cross-site POSTs, but the services and the EHR share one
host in ``make run`` (127.0.0.1 on different ports), and ports do not make another *site*. So a form post must also
(1) come from this app's own origin (``Origin``, or ``Referer`` when a browser sends no ``Origin``; this host and
port, or ``SMART_PUBLIC_BASE_URL``'s behind a proxy), and (2) when the session cookie authenticates it, carry the
session's form token: an HMAC of the cookie, which a page on another origin can neither read (HttpOnly) nor compute.
Nothing is stored; every replica of a service computes the same token. A bearer call carries no ambient credentials,
so it needs no token (its ``Origin`` is still checked).

The JSON APIs need none of this: they read only ``application/json`` bodies, which another origin cannot send
without a CORS preflight that the services never allow."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, current_app, request
from markupsafe import Markup, escape

from shared.smart import SmartAuthError, current_context

CSRF_FIELD = "csrf_token"
_PURPOSE = b"ketalink-ui-form"


def form_token() -> str:
    """The token of this browser's session; empty without a session cookie (then no form post passes)."""
    name = _cookie_name()
    cookie = request.cookies.get(name, "") if name else ""
    return hmac.new(cookie.encode(), _PURPOSE, hashlib.sha256).hexdigest() if cookie else ""


def csrf_input() -> Markup:
    """The hidden field every form of the pages carries (a Jinja global: ``{{ csrf_input() }}``)."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(form_token())}">')


def check_form_post() -> None:
    """Raise a 403 (the SMART error page, ``data-smart-error="csrf"``) unless the post comes from a page of this
    app in this browser session."""
    if not _from_this_origin():
        raise _refused("This form was not sent from a page of this app, so it was refused.")
    context = current_context()
    if context is not None and context.source == "bearer":
        return
    expected = form_token()
    if not expected or not hmac.compare_digest(request.form.get(CSRF_FIELD, ""), expected):
        raise _refused("This form has expired or belongs to another session, so it was refused.")


def guard_form_posts(blueprint: Blueprint) -> None:
    """Check every POST to ``blueprint``'s views; runs after SMART has authenticated the request and checked its
    scopes (app-level ``before_request`` runs first)."""

    @blueprint.before_request
    def _check() -> None:
        if request.method == "POST":
            check_form_post()


def _from_this_origin() -> bool:
    allowed = {request.host.lower()}
    smart = current_app.extensions.get("smart")
    public_base_url = smart.settings.public_base_url if smart is not None else ""
    if public_base_url:
        allowed.add(urlsplit(public_base_url).netloc.lower())
    origin = request.headers.get("Origin")
    source = origin if origin and origin != "null" else request.headers.get("Referer")
    return bool(source) and urlsplit(source).netloc.lower() in allowed  # a browser sends at least one of them


def _cookie_name() -> str:
    smart = current_app.extensions.get("smart")
    return smart.cookie_name if smart is not None else ""


def _refused(message: str) -> SmartAuthError:
    return SmartAuthError(403, f"{message} Reload the page and send it again.", title="Form refused", page="csrf")
