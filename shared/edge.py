"""The web edge of every service: the Host a request names, and the security headers of every answer.

Why here and not at the proxy: the services build URLs the browser is sent to (the SMART ``redirect_uri``) and
serve patient data, so they must not trust a Host header the proxy may pass through unchanged, and their pages must
say themselves where they may be framed (a SMART app runs in the EHR's iframe), what may run in them and that
nothing with patient data is kept in a cache.

- Host: outside local runs ``PUBLIC_BASE_URL`` is required (checked when the web process starts,
  ``shared/runtime.py``), and a request naming another host (``KETALINK_ALLOWED_HOSTS`` adds names, e.g. a second
  DNS name of the same proxy) is a 400 before anything else runs. Probes and ``/metrics`` are exempt: the kubelet
  and Prometheus call the pod by its address.
- Headers: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` on everything (the form guard
  still gets same-origin Referers; other sites never see a URL with a patient's id); ``Cache-Control: no-store``
  on everything but static files and the API description; pages get a Content-Security-Policy that allows this
  origin's scripts and styles only (an inline script or style needs the request's nonce, ``csp_nonce()``) and
  ``frame-ancestors`` 'self' plus the EHR's origin (from ``KETALINK_FRAME_ANCESTORS``, default the origins of the
  EHR the service trusts); every other answer gets ``default-src 'none'; frame-ancestors 'none'``; at an https
  ``PUBLIC_BASE_URL`` (outside local runs) ``Strict-Transport-Security`` too.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request

from shared.web import ApiError

#: Called by the kubelet, Prometheus and load balancers with the pod's address as Host; they hold no patient data.
HOST_EXEMPT_ENDPOINTS = frozenset({"healthz", "readyz", "metrics"})
#: Cacheable: static files and the API description hold no patient data.
CACHEABLE_ENDPOINTS = frozenset({"static", "openapi"})
NON_PAGE_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class EdgeSettings:
    """``KETALINK_FRAME_ANCESTORS``: origins that may frame the pages besides this one (comma-separated; default the
    origins of the EHR(s) the service trusts); ``KETALINK_ALLOWED_HOSTS``: host names (``host`` or ``host:port``)
    accepted besides ``PUBLIC_BASE_URL``'s."""

    frame_ancestors: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()

    def validate(self) -> None:
        for origin in self.frame_ancestors:
            if origin_of(origin) != origin.rstrip("/").lower() or urlsplit(origin).path not in ("", "/"):
                raise ValueError(f"frame_ancestors: {origin!r} is not an origin (scheme://host[:port], no path)")
        for host in self.allowed_hosts:
            if not host or "/" in host or any(ch.isspace() for ch in host):
                raise ValueError(f"allowed_hosts: {host!r} is not a host name")


@dataclass(frozen=True)
class Edge:
    """What one app checks and says: the hosts it answers to (empty: any, in local runs and in-process tests
    without a public URL) and the origins that may frame its pages."""

    hosts: frozenset[str] = frozenset()
    frame_ancestors: tuple[str, ...] = field(default_factory=tuple)
    https_only: bool = False  # served at an https public URL: browsers are told never to use http for it (HSTS)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL (its path left out), lower case, default port left out; "" when
    it is not one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    try:
        port = parts.port
    except ValueError:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")


def host_names(public_base_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host values that name this service: the public URL's host with and without its port (a client may send
    ``example.org:443``), and ``extra``."""
    names = {h.lower() for h in extra}
    parts = urlsplit(public_base_url)
    if parts.hostname:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        names.add(f"{host}:{port}")
        if port == _DEFAULT_PORTS.get(parts.scheme):
            names.add(host)
    return frozenset(names)


def edge_for(public_base_urls: tuple[str, ...], local_run: bool, trusted_ehr_urls: Iterable[str],
             settings: EdgeSettings) -> Edge:
    """The edge of one service: Host checked against its public URLs (the first, ``PUBLIC_BASE_URL``, and any other,
    e.g. ``SMART_PUBLIC_BASE_URL`` where the callback is served under another name) outside local runs, where the
    web process does not start without ``PUBLIC_BASE_URL`` (``shared/runtime.py``); not checked in local runs or
    without ``PUBLIC_BASE_URL`` (tests that build an app in their own process)."""
    urls = [url for url in public_base_urls if url.startswith(("http://", "https://"))]
    hosts: frozenset[str] = frozenset()
    if public_base_urls and public_base_urls[0] in urls and not local_run:
        hosts = frozenset().union(*(host_names(url) for url in urls), host_names("", settings.allowed_hosts))
    ancestors = settings.frame_ancestors or tuple(dict.fromkeys(o for o in map(origin_of, trusted_ehr_urls) if o))
    return Edge(hosts, tuple(origin_of(o) or o for o in ancestors),
                https_only=bool(hosts) and public_base_urls[0].startswith("https://"))


def install_edge(app: Flask, edge: Edge) -> None:
    """The Host check (first of the app's checks still to run) and the headers of every answer."""
    app.extensions[EDGE] = edge
    app.before_request_funcs.setdefault(None, []).insert(0, _check_host)
    app.after_request(_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce


EDGE = "ketalink.edge"


def csp_nonce() -> str:
    """This request's nonce: the page's Content-Security-Policy allows the inline scripts and styles carrying it."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def _check_host() -> None:
    edge: Edge = current_app.extensions[EDGE]
    if not edge.hosts or request.endpoint in HOST_EXEMPT_ENDPOINTS:
        return
    if request.host.lower() not in edge.hosts:
        raise ApiError(400, "the request's Host is not this service's public address (PUBLIC_BASE_URL)",
                       code="security", expression="Host")


def _security_headers(response: Response) -> Response:
    edge: Edge = current_app.extensions[EDGE]
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if edge.https_only:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    endpoint = request.endpoint or ""
    if endpoint not in CACHEABLE_ENDPOINTS and not endpoint.endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = page_policy(edge, g.get("csp_nonce"))
    else:
        response.headers["Content-Security-Policy"] = NON_PAGE_POLICY
    return response


def page_policy(edge: Edge, nonce: str | None) -> str:
    """A page's Content-Security-Policy: this origin's scripts and styles (and inline ones with this request's
    nonce), images (and inline SVG/data images), forms posting here only, framed by this origin and the EHR's only."""
    inline = f" 'nonce-{nonce}'" if nonce else ""
    ancestors = " ".join(("'self'", *edge.frame_ancestors))
    return (f"default-src 'self'; script-src 'self'{inline}; style-src 'self'{inline}; img-src 'self' data:; "
            f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}")
