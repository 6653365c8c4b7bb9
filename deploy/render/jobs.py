"""The run-to-completion work of each service: the migrations Job before every rollout, the daily retention prune,
and the operators' dead-letter replay (suspended: only ever started by hand).

All three run the service's own image and its operations entry points (``python -m shared.migrate``,
``python -m shared.ops <service> ...``), with the pod and container hardening of the long-running pods.
"""
from __future__ import annotations

from typing import Any

from deploy.render import layout, workloads
from deploy.render.layout import MIGRATE, PRUNE, REPLAY, WORKER

Obj = dict[str, Any]

JOB_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
MIGRATE_DEADLINE_S = 600  # a migration that needs longer is one to run by hand, in a maintenance window
MIGRATE_TTL_S = 3600  # a finished Job is removed, so the next `kubectl apply` creates (and runs) it again
JOB_HISTORY_TTL_S = 7 * 24 * 3600
NEVER = "0 0 31 2 *"  # 31 February: a suspended CronJob that exists only to be copied into a Job by hand
# Argo CD runs a PreSync hook to completion before it syncs the rest (kubectl users: deploy/README.md, step 4).
ARGO_PRE_SYNC = {"argocd.argoproj.io/hook": "PreSync",
                 "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}


def job_labels(service: str, component: str) -> dict[str, str]:
    return layout.labels(service, component)


def _container(service: str, component: str, command: list[str], env: list[Obj],
               mounts: list[Obj] | None = None) -> Obj:
    secrets = [{"name": key.env, "valueFrom": {"secretKeyRef": {"name": key.secret, "key": key.key}}}
               for key in layout.secret_env(service, component)]
    return {
        "name": component,
        "image": layout.image(service),
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "envFrom": [{"configMapRef": {"name": "ketalink-config"}}, {"configMapRef": {"name": f"{service}-config"}}],
        "env": secrets + env,
        "resources": JOB_RESOURCES,
        "securityContext": workloads.container(service, WORKER)["securityContext"],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *(mounts or [])],
    }


def _pod(service: str, component: str, containers: list[Obj], volumes: list[Obj]) -> Obj:
    pod = workloads.deployment(service, WORKER)["spec"]["template"]["spec"]
    return {"metadata": {"labels": job_labels(service, component)}, "spec": {
        "serviceAccountName": service,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "Never",
        "securityContext": pod["securityContext"],
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}, *volumes],
    }}


def migration_job(service: str) -> Obj:
    """Runs before the Deployments roll: a Helm pre-install/pre-upgrade hook in the chart, an Argo CD PreSync hook,
    or the first `kubectl apply` step (deploy/README.md). Retried twice: the advisory lock makes a rerun safe."""
    container = _container(service, MIGRATE, ["python", "-m", "shared.migrate"], [])
    # It runs before anything else of a first install exists (a Helm pre-install hook): no ConfigMap (it reads only
    # DATABASE_URL), and the namespace's default ServiceAccount, whose token is not mounted either.
    del container["envFrom"]
    pod = _pod(service, MIGRATE, [container], [])
    pod["spec"]["serviceAccountName"] = "default"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{service}-{MIGRATE}", "labels": job_labels(service, MIGRATE),
                     "annotations": dict(ARGO_PRE_SYNC)},
        "spec": {"backoffLimit": 2, "activeDeadlineSeconds": MIGRATE_DEADLINE_S,
                 "ttlSecondsAfterFinished": MIGRATE_TTL_S,
                 "template": pod},
    }


def _cronjob(name: str, labels: dict[str, str], schedule: str, suspend: bool, pod: Obj, deadline_s: int) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "suspend": suspend,
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": {
                "backoffLimit": 0, "activeDeadlineSeconds": deadline_s, "ttlSecondsAfterFinished": JOB_HISTORY_TTL_S,
                "template": pod}},
        },
    }


def prune_cronjob(service: str, index: int) -> Obj:
    """Deletes processed-message, idempotency and sent-outbox rows past KETALINK_RETENTION_* (shared/ops/prune.py),
    each service at its own minute of the quiet night hours (UTC)."""
    command = ["python", "-m", "shared.ops", service, PRUNE, "--apply"]
    pod = _pod(service, PRUNE, [_container(service, PRUNE, command, [])], [])
    return _cronjob(f"{service}-{PRUNE}", job_labels(service, PRUNE), f"{17 + 10 * index} 3 * * *", False, pod, 1800)


def replay_config() -> Obj:
    """What the next replay Job does: REPLAY_REASON is required by the CLI (it is audited); REPLAY_APPLY empty is a
    dry run that only lists, ``true`` replays. Edited just before `kubectl create job --from=cronjob/...`."""
    name = f"ketalink-{REPLAY}"
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": REPLAY,
                                                  "app.kubernetes.io/part-of": layout.PART_OF}},
            "data": {"REPLAY_REASON": "", "REPLAY_APPLY": ""}}


def replay_cronjob(service: str) -> Obj:
    """Replays every waiting dead letter of the service into its source topic with the operations CLI (audited in
    the service's ops_actions table), as KafkaUser ketalink-dlq-replay, which may read each dead-letter topic and
    write its source. Suspended: never scheduled, only copied into a Job by hand."""
    script = ('exec python -m shared.ops "$0" dead-letters replay --all --reason "$REPLAY_REASON"'
              ' ${REPLAY_APPLY:+--apply}')
    env = [{"name": "KAFKA_SASL_USERNAME", "value": layout.kafka_user(REPLAY)},
           {"name": "KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": layout.kafka_user(REPLAY), "key": "password"}}}]
    container = _container(service, REPLAY, ["sh", "-c", script, service], env,
                           [{"name": "kafka-ca", "mountPath": layout.KAFKA_CA_DIR, "readOnly": True}])
    container["env"] = [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": layout.database_secret(service, REPLAY), "key": "url"}}}, *env]
    container["envFrom"].append({"configMapRef": {"name": f"ketalink-{REPLAY}"}})
    kafka_ca = [{"name": "kafka-ca", "secret": {"secretName": layout.KAFKA_CA_SECRET,
                                                "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]
    labels = {**layout.labels(service, REPLAY)}
    pod = _pod(service, REPLAY, [container], kafka_ca)
    pod["metadata"]["labels"] = labels
    return _cronjob(f"{service}-{REPLAY}", labels, NEVER, True, pod, 900)


def service_jobs(service: str, index: int) -> list[Obj]:
    return [migration_job(service), prune_cronjob(service, index), replay_cronjob(service)]
