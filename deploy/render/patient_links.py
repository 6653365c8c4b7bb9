"""The patient's questionnaire links on the internet: a public host that reaches the orders service's patient pages
(``/q/{token}`` and the two stylesheets they load) and nothing else of it, rate limited at the edge, with the
orders settings that make the links point there (``ORDERS_COURSE_PRO_PATIENT_BASE_URL``) and count each patient
by the address the edge saw (``ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER``).

Off unless the clinic turns it on (the chart's ``patientLinks.enabled``; kustomize components/patient-links-ingress
or components/patient-links-gateway): the staff hosts are the hospital's, a patient's phone is not on its network,
and a clinic that does not send links has no reason to publish anything.

The edge's limit is the primary one (ingress-nginx ``limit-rpm`` and ``limit-connections`` per client address);
the orders service's own limit (``ORDERS_COURSE_PRO_LINK_PAGE_REQUESTS_PER_MINUTE``) is a per-process backstop.
The Gateway API has no standard rate limit: with the Gateway, the site attaches its implementation's policy
(deploy/README.md) and until then only the backstop applies.
"""
from __future__ import annotations

from typing import Any

from deploy.render import layout
from deploy.render.layout import HTTP_PORT, WEB

Obj = dict[str, Any]

SERVICE = "orders"
NAME = "ketalink-patient-links"  # the Ingress, the HTTPRoute and the NetworkPolicy
PUBLIC_BASE_URL = f"https://patients.{layout.BASE_DOMAIN}"  # overlays and values replace it
TLS_SECRET = "ketalink-patient-links-tls"
CLIENT_ADDRESS_HEADER = "X-Forwarded-For"  # the orders service counts its last entry: what the edge appended
REQUESTS_PER_MINUTE = 30  # per client address, as the service's default backstop
CONNECTIONS = 5  # open connections per client address
BODY_SIZE = "16k"  # a questionnaire's form: a few hundred bytes
QUESTIONNAIRE_PREFIX = "/q/"
# The patient page's stylesheets (services/orders/templates/orders/course/_patient_layout.html), one file each.
STYLESHEETS = ("/ui-static/ketalink.css", "/ui/orders-static/orders/patient.css")
PUBLIC_PATHS = ((QUESTIONNAIRE_PREFIX, "Prefix"), *((path, "Exact") for path in STYLESHEETS))


def orders_config() -> dict[str, str]:
    """What the orders containers are told when patient links are on."""
    return {"ORDERS_COURSE_PRO_PATIENT_BASE_URL": PUBLIC_BASE_URL,
            "ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER": CLIENT_ADDRESS_HEADER}


def _labels() -> dict[str, str]:
    return layout.labels(SERVICE, WEB)


def ingress() -> Obj:
    """The public Ingress: one host, the patient paths only (any other path is not routed: the controller's 404)."""
    host = PUBLIC_BASE_URL.removeprefix("https://")
    backend = {"service": {"name": f"{SERVICE}-web", "port": {"name": "http"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": NAME, "labels": _labels(), "annotations": {
            "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
            "nginx.ingress.kubernetes.io/proxy-body-size": BODY_SIZE,
            "nginx.ingress.kubernetes.io/enable-access-log": "false",  # a logged path is a working link
            "nginx.ingress.kubernetes.io/limit-rpm": str(REQUESTS_PER_MINUTE),
            "nginx.ingress.kubernetes.io/limit-connections": str(CONNECTIONS),
        }},
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [host], "secretName": TLS_SECRET}],
            "rules": [{"host": host, "http": {"paths": [
                {"path": path, "pathType": kind, "backend": backend} for path, kind in PUBLIC_PATHS]}}],
        },
    }


def http_route() -> Obj:
    """The same paths as an HTTPRoute on the hospital's Gateway (a request the route does not match gets the
    Gateway's 404)."""
    kinds = {"Prefix": "PathPrefix", "Exact": "Exact"}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": NAME, "labels": _labels()},
        "spec": {
            "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": layout.GATEWAY_NAME,
                            "namespace": layout.GATEWAY_NAMESPACE, "sectionName": layout.GATEWAY_LISTENER}],
            "hostnames": [PUBLIC_BASE_URL.removeprefix("https://")],
            "rules": [{"matches": [{"path": {"type": kinds[kind], "value": path}} for path, kind in PUBLIC_PATHS],
                       "backendRefs": [{"name": f"{SERVICE}-web", "port": HTTP_PORT}]}],
        },
    }


def ingress_policy() -> Obj:
    """The internet-facing ingress controller may reach the orders web pods only (a site with a separate public
    controller names its namespace; the default is the one controller of components/ingress). With the Gateway,
    ketalink-ingress-web-gateway already lets the Gateway's pods in."""
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": layout.INGRESS_NAMESPACE}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": NAME, "labels": {"app.kubernetes.io/part-of": layout.PART_OF}},
            "spec": {"podSelector": {"matchLabels": _labels()}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [peer], "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}]}}


# -- kustomize ---------------------------------------------------------------------------------------------------
def _patient_host() -> Obj:
    return {"kind": "ConfigMap", "name": f"{SERVICE}-config", "fieldPath": "data.ORDERS_COURSE_PRO_PATIENT_BASE_URL",
            "options": {"delimiter": "/", "index": 2}}  # https://HOST → HOST


def _site(key: str) -> Obj:
    return {"kind": "ConfigMap", "name": "ketalink-site", "fieldPath": f"data.{key}"}


def component(edge: str) -> Obj:
    """components/patient-links-<edge>: the objects, the client address header merged into orders-config, and the
    host taken from the overlay's ``ORDERS_COURSE_PRO_PATIENT_BASE_URL`` (its config/orders.env must set it: without
    it kustomize stops, so no link points at a host nobody published)."""
    if edge == "ingress":
        targets = [{"select": {"kind": "Ingress", "name": NAME},
                    "fieldPaths": ["spec.rules.0.host", "spec.tls.0.hosts.0"]}]
        site = []
    else:
        route = {"kind": "HTTPRoute", "name": NAME}
        targets = [{"select": route, "fieldPaths": ["spec.hostnames.0"]}]
        site = [{"source": _site(key), "targets": [{"select": route, "fieldPaths": [f"spec.parentRefs.0.{field}"]}]}
                for key, field in (("GATEWAY_NAME", "name"), ("GATEWAY_NAMESPACE", "namespace"))]
    return {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component",
            "resources": [f"{edge}.yaml"],
            "configMapGenerator": [{"name": f"{SERVICE}-config", "behavior": "merge", "literals": [
                f"ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER={CLIENT_ADDRESS_HEADER}"]}],
            "replacements": [{"source": _patient_host(), "targets": targets}, *site]}
