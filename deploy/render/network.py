"""Who may talk to whom: a default-deny NetworkPolicy for every Ketalink pod, then one policy per path the services
need (DNS, the database, the EHR, the Kafka brokers for the workers, the ingress controller and Prometheus in), and
the Ingress that publishes each service's SMART launch URLs over TLS.

Each allowed path is its own policy so an overlay replaces one destination (say, the database CIDR) without
restating the others. The database and EHR are outside the cluster and NetworkPolicy has no host names, so they
are CIDRs; the base uses documentation ranges (RFC 5737) that route nowhere, so a cluster without its site values
fails closed.
"""
from __future__ import annotations

from typing import Any

from deploy.render import layout
from deploy.render.layout import HTTP_PORT, MIGRATE, PRUNE, REPLAY, WEB, WORKER, WORKER_METRICS_PORT

Obj = dict[str, Any]

DATABASE_PORT = 5432
EHR_PORT = 443
PLACEHOLDER_DATABASE_CIDR = "192.0.2.0/24"
PLACEHOLDER_EHR_CIDR = "198.51.100.0/24"
NOT_EXPOSED_SERVICE = "ketalink-not-exposed"
NOT_EXPOSED_PATHS = ("/metrics", "/readyz")  # operational endpoints stay inside the cluster
INGRESS, GATEWAY = "ingress", "gateway"  # the two exposures an overlay chooses between (a kustomize component each)
GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name"


def _all_pods() -> Obj:
    return {"matchLabels": {"app.kubernetes.io/part-of": layout.PART_OF}}


def _component_pods(*components: str) -> Obj:
    if len(components) == 1:
        return {"matchLabels": {"app.kubernetes.io/part-of": layout.PART_OF,
                                "app.kubernetes.io/component": components[0]}}
    return {"matchLabels": {"app.kubernetes.io/part-of": layout.PART_OF},
            "matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                  "values": list(components)}]}


def _namespace(name: str) -> Obj:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def _policy(name: str, pods: Obj, *, ingress: list[Obj] | None = None, egress: list[Obj] | None = None) -> Obj:
    spec: Obj = {"podSelector": pods, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": layout.PART_OF}}, "spec": spec}


def _tcp(port: int) -> list[Obj]:
    return [{"protocol": "TCP", "port": port}]


def _kafka_brokers() -> Obj:
    return {"namespaceSelector": _namespace(layout.KAFKA_NAMESPACE),
            "podSelector": {"matchLabels": {"strimzi.io/cluster": layout.KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}}}


TRACING_POLICY = "ketalink-egress-tracing"
OPS_KAFKA_POLICY = "ketalink-egress-kafka-ops"


def tracing_policy() -> Obj:
    """With tracing on (components/tracing, the chart's ``tracing.exporter: otlp``), the web and worker pods may send
    spans to the site's OpenTelemetry Collector; without this policy the default deny drops them silently."""
    peer = {"namespaceSelector": _namespace(layout.TRACING_COLLECTOR_NAMESPACE),
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": layout.TRACING_COLLECTOR_NAME}}}
    return _policy(TRACING_POLICY, _component_pods(WEB, WORKER),
                   egress=[{"to": [peer], "ports": _tcp(layout.OTLP_HTTP_PORT)}])


def ops_kafka_policy() -> Obj:
    """Where the /ops page acts on dead letters (components/ops-dead-letters, the chart's ``opsDeadLetters``), the
    web pods may reach the brokers; otherwise only the workers and the replay Job do."""
    return _policy(OPS_KAFKA_POLICY, _component_pods(WEB), egress=[{"to": [_kafka_brokers()],
                                                                   "ports": _tcp(layout.KAFKA_TLS_PORT)}])


def network_policies() -> list[Obj]:
    prometheus = {"namespaceSelector": _namespace(layout.MONITORING_NAMESPACE),
                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    return [
        _policy("ketalink-default-deny", _all_pods(), ingress=[], egress=[]),
        _policy("ketalink-egress-dns", _all_pods(), egress=[{
            "to": [{"namespaceSelector": _namespace(layout.DNS_NAMESPACE),
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }]),
        _policy("ketalink-egress-database", _component_pods(WEB, WORKER, MIGRATE, PRUNE, REPLAY), egress=[{
            "to": [{"ipBlock": {"cidr": PLACEHOLDER_DATABASE_CIDR}}], "ports": _tcp(DATABASE_PORT)}]),
        _policy("ketalink-egress-ehr", _component_pods(WEB, WORKER), egress=[{
            "to": [{"ipBlock": {"cidr": PLACEHOLDER_EHR_CIDR}}], "ports": _tcp(EHR_PORT)}]),
        _policy("ketalink-egress-kafka", _component_pods(WORKER, REPLAY), egress=[{
            "to": [_kafka_brokers()], "ports": _tcp(layout.KAFKA_TLS_PORT)}]),
        _policy("ketalink-ingress-web", _component_pods(WEB), ingress=[{"from": [prometheus],
                                                                         "ports": _tcp(HTTP_PORT)}]),
        _policy("ketalink-ingress-worker-metrics", _component_pods(WORKER), ingress=[{
            "from": [prometheus], "ports": _tcp(WORKER_METRICS_PORT)}]),
    ]


def edge_policy(edge: str) -> Obj:
    """Lets the exposure the overlay chose reach the web pods: the ingress-nginx controller (components/ingress) or
    the Gateway's data-plane pods (components/gateway), which Gateway API implementations that run one Deployment per
    Gateway label ``gateway.networking.k8s.io/gateway-name``."""
    if edge == INGRESS:
        peer = {"namespaceSelector": _namespace(layout.INGRESS_NAMESPACE),
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
    else:
        peer = {"namespaceSelector": _namespace(layout.GATEWAY_NAMESPACE),
                "podSelector": {"matchLabels": {GATEWAY_POD_LABEL: layout.GATEWAY_NAME}}}
    return _policy(f"ketalink-ingress-web-{edge}", _component_pods(WEB),
                   ingress=[{"from": [peer], "ports": _tcp(HTTP_PORT)}])


def http_routes() -> list[Obj]:
    """One HTTPRoute per service, attached to the hospital's Gateway (its HTTPS listener terminates TLS), with the
    same routes as the Ingress: the operational endpoints go to the sink Service, the rest to the web pods."""
    routes = []
    for service in layout.SERVICES:
        sink = [{"matches": [{"path": {"type": "Exact", "value": path}}],
                 "backendRefs": [{"name": NOT_EXPOSED_SERVICE, "port": 80}]} for path in NOT_EXPOSED_PATHS]
        routes.append({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": service, "labels": layout.labels(service, WEB)},
            "spec": {
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": layout.GATEWAY_NAME,
                                "namespace": layout.GATEWAY_NAMESPACE, "sectionName": layout.GATEWAY_LISTENER}],
                "hostnames": [f"{service}.{layout.BASE_DOMAIN}"],
                "rules": [*sink, {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                  "backendRefs": [{"name": f"{service}-web", "port": HTTP_PORT}]}],
            },
        })
    return routes


def not_exposed_service() -> Obj:
    """A Service with no selector and so no endpoints: Ingress paths routed here answer 503 at the controller."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NOT_EXPOSED_SERVICE, "labels": {"app.kubernetes.io/part-of": layout.PART_OF},
                         "annotations": {"ketalink.io/purpose": "Ingress sink for paths that must not be public"}},
            "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}


def ingress() -> Obj:
    """One host per service (https://<service>.<domain>), so the SMART launch and redirect URLs need no path
    rewriting and PUBLIC_BASE_URL is simply that origin. The overlays set the real hosts."""
    hosts = {service: f"{service}.{layout.BASE_DOMAIN}" for service in layout.SERVICES}

    def backend(name: str, port: str) -> Obj:
        return {"service": {"name": name, "port": {"name": port}}}

    rules = []
    for service, host in hosts.items():
        paths = [{"path": path, "pathType": "Exact", "backend": backend(NOT_EXPOSED_SERVICE, "http")}
                 for path in NOT_EXPOSED_PATHS]
        paths.append({"path": "/", "pathType": "Prefix", "backend": backend(f"{service}-web", "http")})
        rules.append({"host": host, "http": {"paths": paths}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "ketalink",
            "labels": {"app.kubernetes.io/part-of": layout.PART_OF},
            "annotations": {
                "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
                "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": list(hosts.values()), "secretName": layout.TLS_SECRET}],
            "rules": rules,
        },
    }
