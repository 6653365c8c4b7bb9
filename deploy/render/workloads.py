"""One service's Kubernetes objects: web and worker Deployments from one image, their Service, autoscaler, disruption
budget and scrape configuration.

The web Deployment runs gunicorn (``services.<name>.wsgi:app``); it creates no Kafka client at all. The worker
Deployment runs ``python -m services.<name>.worker`` under deploy/docker/ketalink_worker.py, which adds the
/healthz and /metrics port that the worker process otherwise lacks (its consumer and outbox metrics live only there).
Only where the site lets the /ops page act on dead letters (``ops_kafka``) does the web pod get a Kafka user: the
service's own ``ketalink-<service>-ops`` (deploy/render/kafka.py ``ops_grants``) and the cluster CA. Both read the
tracing ConfigMap (``OTEL_*``, off unless the site turns it on).
"""
from __future__ import annotations

from typing import Any

from deploy.render import layout
from deploy.render.layout import HTTP_PORT, RUN_AS_ID, WEB, WORKER, WORKER_METRICS_PORT
from shared.events.kafka_clients import KafkaSettings

Obj = dict[str, Any]

# Base sizes suit production; the dev overlay lowers them.
RESOURCES = {
    WEB: {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    WORKER: {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
}
# Two web pods so one can be drained or fail; more workers than partitions would sit idle in the consumer group.
REPLICAS = {WEB: (2, 6), WORKER: (2, KafkaSettings().topic_partitions)}
TARGET_CPU_PERCENT = 70
PRE_STOP_SLEEP_S = 5  # lets the ingress controller drop the endpoint before gunicorn stops accepting
TERMINATION_GRACE_S = 40  # > pre-stop sleep + gunicorn graceful_timeout (deploy/docker/gunicorn.conf.py)


def port_name(component: str) -> str:
    return "http" if component == WEB else "metrics"


def port_number(component: str) -> int:
    return HTTP_PORT if component == WEB else WORKER_METRICS_PORT


def command(service: str, component: str) -> list[str]:
    if component == WEB:
        return ["gunicorn", "--config", "/app/gunicorn.conf.py", f"services.{service}.wsgi:app"]
    return ["python", "-m", "ketalink_worker", f"services.{service}.worker"]


def _http_probe(path: str, component: str, *, period_s: int, failures: int) -> Obj:
    return {"httpGet": {"path": path, "port": port_name(component)}, "periodSeconds": period_s,
            "timeoutSeconds": 3, "failureThreshold": failures}


def ops_kafka_env(service: str) -> list[Obj]:
    """The web container's Kafka credentials for the /ops page: the page's own user, never the worker's."""
    user = layout.kafka_user(layout.ops_client(service))
    return [{"name": "KAFKA_SASL_USERNAME", "value": user},
            {"name": "KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": user, "key": "password"}}}]


KAFKA_CA_MOUNT: Obj = {"name": "kafka-ca", "mountPath": layout.KAFKA_CA_DIR, "readOnly": True}


def kafka_ca_volume() -> Obj:
    return {"name": "kafka-ca", "secret": {"secretName": layout.KAFKA_CA_SECRET,
                                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}}


def container(service: str, component: str, *, ops_kafka: bool = False) -> Obj:
    env: list[Obj] = [
        {"name": key.env, "valueFrom": {"secretKeyRef": {"name": key.secret, "key": key.key}}}
        for key in layout.secret_env(service, component)
    ]
    mounts: list[Obj] = [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "ehr-backend", "mountPath": layout.EHR_BACKEND_KEY_DIR, "readOnly": True}]
    if component == WORKER:
        env += [{"name": "KAFKA_SASL_USERNAME", "value": layout.kafka_user(service)},
                {"name": "WORKER_METRICS_PORT", "value": str(WORKER_METRICS_PORT)}]
        mounts.append(dict(KAFKA_CA_MOUNT))
    if component == WEB and ops_kafka:  # first, where components/ops-dead-letters' strategic merge puts them
        env = ops_kafka_env(service) + env
        mounts.insert(0, dict(KAFKA_CA_MOUNT))
    spec: Obj = {
        "name": component,
        "image": layout.image(service),
        "imagePullPolicy": "IfNotPresent",
        "command": command(service, component),
        "ports": [{"name": port_name(component), "containerPort": port_number(component), "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": "ketalink-config"}}, {"configMapRef": {"name": f"{service}-config"}},
                    {"configMapRef": {"name": layout.TRACING_CONFIG_MAP}}],
        "env": env,
        "resources": RESOURCES[component],
        "startupProbe": _http_probe("/healthz", component, period_s=2, failures=45),
        "livenessProbe": _http_probe("/healthz", component, period_s=10, failures=3),
        "readinessProbe": _http_probe("/readyz", component, period_s=5, failures=3),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_ID,
            "runAsGroup": RUN_AS_ID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": mounts,
    }
    if component == WEB:
        spec["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SLEEP_S)]}}}
    return spec


def deployment(service: str, component: str, *, ops_kafka: bool = False) -> Obj:
    name = f"{service}-{component}"
    match = layout.selector(service, component)
    volumes: list[Obj] = [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                          {"name": "ehr-backend", "secret": {"secretName": layout.ehr_backend_secret(service),
                                                             "items": [{"key": "private-key.pem",
                                                                        "path": "private-key.pem"}]}}]
    if component == WORKER:
        volumes.append(kafka_ca_volume())
    elif component == WEB and ops_kafka:
        volumes.insert(0, kafka_ca_volume())
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": layout.labels(service, component)},
        "spec": {
            # No `replicas`: the HorizontalPodAutoscaler owns it, so applying the manifests never resets it.
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": match},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": layout.labels(service, component)},
                "spec": {
                    "serviceAccountName": service,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_S,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS_ID,
                        "runAsGroup": RUN_AS_ID,
                        "fsGroup": RUN_AS_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [
                        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
                         "labelSelector": {"matchLabels": match}}
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                    ],
                    "containers": [container(service, component, ops_kafka=ops_kafka)],
                    "volumes": volumes,
                },
            },
        },
    }


def service_object(service: str, component: str) -> Obj:
    spec: Obj = {
        "type": "ClusterIP",
        "selector": layout.selector(service, component),
        "ports": [{"name": port_name(component), "port": port_number(component),
                   "targetPort": port_name(component), "protocol": "TCP"}],
    }
    name = f"{service}-web"
    if component == WORKER:
        spec["clusterIP"] = "None"  # only for Prometheus to find the worker pods
        name = f"{service}-worker-metrics"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "labels": layout.labels(service, component)}, "spec": spec}


def autoscaler(service: str, component: str) -> Obj:
    low, high = REPLICAS[component]
    name = f"{service}-{component}"
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": layout.labels(service, component)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": TARGET_CPU_PERCENT}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def disruption_budget(service: str, component: str) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"{service}-{component}", "labels": layout.labels(service, component)},
        "spec": {
            "maxUnavailable": 1,  # works at any replica count, so a one-pod dev Deployment can still be drained
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
            "selector": {"matchLabels": layout.selector(service, component)},
        },
    }


def service_monitor(service: str) -> Obj:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        # kube-prometheus-stack selects by `release`; the overlays' PROMETHEUS_RELEASE (components/site) sets it
        "metadata": {"name": service, "labels": {**layout.labels(service),
                                                 layout.PROMETHEUS_RELEASE_LABEL: layout.PROMETHEUS_RELEASE}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": service,
                                         "app.kubernetes.io/part-of": layout.PART_OF}},
            "endpoints": [{"port": port_name(component), "path": "/metrics", "interval": "30s",
                           "scrapeTimeout": "10s"} for component in (WEB, WORKER)],
        },
    }


def service_account(service: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": service, "labels": layout.labels(service)},
            "automountServiceAccountToken": False}


def service_objects(service: str) -> list[Obj]:
    objects = [service_account(service)]
    for component in (WEB, WORKER):
        objects += [deployment(service, component), service_object(service, component),
                    autoscaler(service, component), disruption_budget(service, component)]
    objects.append(service_monitor(service))
    return objects
