"""The facts every generated manifest and the compose file share: names, ports, labels, secrets, site defaults.

Service names come from ``shared.events.topics.ACCESS`` (every entry but the EHR's), so a fourth service gets its
manifests by being added there. Values that differ per cluster (hosts, CIDRs, replica counts, Kafka timing) are not
here but in the kustomize overlays; this module holds what is the same everywhere.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from shared.events.topics import ACCESS

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
BASE_DIR = K8S_DIR / "base"
OVERLAYS = ("dev", "prod")

REPLAY = "dlq-replay"  # operators' dead-letter replay: a KafkaUser and a suspended CronJob, not a service
OPS = "ops"  # the /ops page's own Kafka user per service (ketalink-<service>-ops), only where the site turns it on
EHR_CLIENT = "ehr"  # the hospital's integration engine: a Kafka client we grant access to, not a service we run
SERVICES: tuple[str, ...] = tuple(name for name in ACCESS if name != EHR_CLIENT)

PART_OF = "ketalink"
VERSION: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE_REPOSITORY = "ketalink"  # overlays point it at the real registry with kustomize `images:`

WEB, WORKER = "web", "worker"
MIGRATE = "migrate"  # the pre-rollout Job that runs `python -m shared.migrate` with the DDL role
PRUNE = "prune"  # the daily retention Job of `python -m shared.ops <service> prune --apply`
HTTP_PORT = 8000  # gunicorn, inside the pod; HTTP_PORT in the ConfigMap says the same
WORKER_METRICS_PORT = 9100  # deploy/docker/ketalink_worker.py serves /healthz and /metrics here
RUN_AS_ID = 10001  # the `ketalink` user baked into deploy/docker/Dockerfile

# Strimzi: the Kafka cluster (in its own namespace) and the CA of its TLS listener, copied into our namespace.
KAFKA_CLUSTER = "ketalink"
KAFKA_NAMESPACE = "kafka"
KAFKA_TLS_PORT = 9093
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap.{KAFKA_NAMESPACE}.svc:{KAFKA_TLS_PORT}"
KAFKA_CA_SECRET = "kafka-cluster-ca"  # a copy of Strimzi's `<cluster>-cluster-ca-cert` (key ca.crt)
KAFKA_CA_DIR = "/etc/ketalink/kafka-ca"
EHR_BACKEND_KEY_DIR = "/var/run/secrets/ketalink/ehr-backend"  # the service's backend client key (Secret)

# Exposure: the overlays choose a Gateway API HTTPRoute (components/gateway) or an Ingress (components/ingress).
GATEWAY_NAME = "ketalink"  # placeholders: the overlays' config/site.env name the hospital's Gateway
GATEWAY_NAMESPACE = "gateway"
GATEWAY_LISTENER = "https"
# kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules labelled `release: <its release>`.
PROMETHEUS_RELEASE_LABEL = "release"
PROMETHEUS_RELEASE = "kube-prometheus-stack"

# Tracing (shared/tracing.py): off unless the site turns it on (components/tracing, or the chart's `tracing`).
# OTLP over HTTP is the only exporter installed, so the collector's OTLP/HTTP port is the one egress needed.
TRACING_CONFIG_MAP = "ketalink-tracing"
TRACING_CONFIG: dict[str, str] = {
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",  # the caller's decision, else this ratio of new traces
    "OTEL_TRACES_SAMPLER_ARG": "1.0",
    # read only when the exporter is otlp; the site's overlay (or the chart's tracing.otlpEndpoint) names its own
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://opentelemetry-collector.observability.svc:4318",
}
TRACING_COLLECTOR_NAMESPACE = "observability"  # placeholders: the site's collector
TRACING_COLLECTOR_NAME = "opentelemetry-collector"  # its pods' app.kubernetes.io/name (the upstream chart's default)
OTLP_HTTP_PORT = 4318

# Who may reach the pods, and where DNS lives (namespace names as the `kubernetes.io/metadata.name` label).
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"
DNS_NAMESPACE = "kube-system"

TLS_SECRET = "ketalink-tls"
BASE_DOMAIN = "ketalink.example.org"  # overlays replace the hosts and PUBLIC_BASE_URLs


def kafka_user(client: str) -> str:
    """The KafkaUser (and so the SASL user name and the Secret Strimzi writes its password to) of one client."""
    return f"ketalink-{client}"


def ops_client(service: str) -> str:
    """The Kafka client of a service's /ops page (its KafkaUser is ``kafka_user(ops_client(service))``)."""
    return f"{service}-{OPS}"


def consumer_group(client: str) -> str:
    """The consumer group id: ``ServiceRuntime.start_worker``'s default (shared/runtime.py) when CONSUMER_GROUP is
    not set, which the manifests leave unset."""
    return f"ketalink-{client}"


def image(service: str) -> str:
    return f"{IMAGE_REPOSITORY}/{service}:{VERSION}"


def labels(service: str, component: str | None = None) -> dict[str, str]:
    result = {"app.kubernetes.io/name": service, "app.kubernetes.io/part-of": PART_OF}
    if component:
        result["app.kubernetes.io/component"] = component
    return result


def selector(service: str, component: str) -> dict[str, str]:
    """Deployment selectors are immutable: only the labels that will never change."""
    return {"app.kubernetes.io/name": service, "app.kubernetes.io/component": component}


@dataclass(frozen=True)
class SecretKey:
    """One environment variable read from a key of a Secret that is created outside the repository."""

    env: str
    secret: str
    key: str


def ehr_backend_secret(service: str) -> str:
    """The Secret with the service's SMART Backend Services client at the EHR: ``client-id`` and ``private-key.pem``
    (mounted as a file at EHR_BACKEND_KEY_DIR, since shared/smart/backend.py reads the key from a file)."""
    return f"{service}-ehr-backend"


def database_secret(service: str, component: str) -> str:
    """The migrations Job connects as the role that owns the schema (DDL); everything else as the service's
    DML-only role (deploy/render/database.py writes the grants)."""
    return f"{service}-database-migrator" if component == MIGRATE else f"{service}-database"


def secret_env(service: str, component: str) -> list[SecretKey]:
    """The Secret-backed variables of one container. The web part never talks to Kafka, so it gets no Kafka secret."""
    if component in (MIGRATE, PRUNE):
        return [SecretKey("DATABASE_URL", database_secret(service, component), "url")]
    keys = [
        SecretKey("DATABASE_URL", database_secret(service, component), "url"),
        SecretKey("SMART_CLIENT_ID", f"{service}-smart-client", "client-id"),
        SecretKey("SMART_CLIENT_SECRET", f"{service}-smart-client", "client-secret"),
        SecretKey("EHR_BACKEND_CLIENT_ID", ehr_backend_secret(service), "client-id"),
    ]
    if component == WORKER:
        keys.append(SecretKey("KAFKA_SASL_PASSWORD", kafka_user(service), "password"))  # written by Strimzi
    return keys


# The configuration every service container reads (ConfigMap `ketalink-config`, and the compose file's env_file).
# Names are the ones shared.runtime.ServiceSettings and shared.events.kafka_clients.KafkaSettings read; the
# KAFKA_SECURITY_*/SASL/SSL ones are for the SCRAM-over-TLS listener (the worker checks they are complete).
COMMON_CONFIG: dict[str, str] = {
    "HTTP_HOST": "0.0.0.0",
    "HTTP_PORT": str(HTTP_PORT),
    "LOG_LEVEL": "INFO",
    "RUN_WORKER": "false",  # web and worker are separate Deployments
    "KETALINK_MIGRATE_ON_START": "false",  # the migrations Job changes the schema; the services' roles cannot
    "EHR_FHIR_BASE_URL": "https://ehr.example.org/fhir",
    "EHR_TIMEOUT_S": "10",
    "EHR_BACKEND_AUTH": "private_key_jwt",  # SMART Backend Services for the service's own EHR reads
    "EHR_BACKEND_PRIVATE_KEY_FILE": f"{EHR_BACKEND_KEY_DIR}/private-key.pem",
    "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SSL_CAFILE": f"{KAFKA_CA_DIR}/ca.crt",
}

# Variables the manifests set that the application code does not read yet; the report and the README list them.
NOT_YET_READ: frozenset[str] = frozenset()
# Read by the container's own tooling (deploy/docker), not by the application.
CONTAINER_SETTINGS = frozenset({"WORKER_METRICS_PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS"})


def public_base_url(service: str, domain: str = BASE_DOMAIN) -> str:
    return f"https://{service}.{domain}"
