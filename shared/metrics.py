"""Prometheus metrics shared by every service (served at ``/metrics``). Labels carry topics, partitions, event codes,
FHIR resource types, routes and outcomes: never PHI, never a record or message id. No label is named like one the
Prometheus Operator sets on every target (job, instance, namespace, service, pod, container, endpoint): it would be
renamed ``exported_*``.

Several gunicorn workers: ``deploy/docker/gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers
import anything, so each process writes its values to files there and ``exposition()`` sums them (without that, each
scrape saw one worker's counters: 29, 11, 29). Without the variable (the local stack, the Kafka worker process) the
process's own registry is served, custom collectors included. Gauges say how processes combine
(``multiprocess_mode``); those only the worker process sets keep the most recent live value.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess,
)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# --- the outbox (backlog and oldest age come from shared/events/worker_metrics.py, read at scrape time) -----------
OUTBOX_SENT = Counter("ketalink_outbox_sent_total", "Events the broker acknowledged")
OUTBOX_SEND_FAILURES = Counter("ketalink_outbox_send_failures_total", "Relay passes that failed to reach the broker")

# --- inbound messages ------------------------------------------------------------------------------------------------
MESSAGES_CONSUMED = Counter("ketalink_messages_consumed_total",
                            "Inbound messages by topic and outcome (done, duplicate, ignored, retry, held, "
                            "dead-lettered)",
                            ["topic", "outcome"])
MESSAGE_SECONDS = Histogram("ketalink_message_processing_seconds", "Time to process one inbound message", ["topic"])
CONSUMER_ASSIGNMENTS = Counter("ketalink_consumer_assignments_total",
                               "Partition assignments a consumer received (one per completed group rebalance)",
                               ["consumer"])
CONSUMER_LAG = Gauge("ketalink_consumer_lag",
                     "Records on a partition not yet processed: highwater minus the group's committed offset",
                     ["consumer", "topic", "partition"], multiprocess_mode="livemostrecent")
CONSUMER_LAST_POLL = Gauge("ketalink_consumer_last_poll_timestamp_seconds",
                           "Unix time of the consumer's last poll as a joined group member",
                           ["consumer"], multiprocess_mode="livemax")
CONSUMER_LAST_COMMIT = Gauge("ketalink_consumer_last_commit_timestamp_seconds",
                             "Unix time of the consumer's last offset commit", ["consumer"],
                             multiprocess_mode="livemax")
CONSUMER_PARTITIONS = Gauge("ketalink_consumer_assigned_partitions", "Partitions assigned to the consumer",
                            ["consumer"], multiprocess_mode="livemostrecent")

DEAD_LETTERS_WAITING = Gauge("ketalink_dead_letters_waiting",
                             "Dead letters of this service neither replayed nor discarded, by dead-letter topic "
                             "(counted every few minutes: shared/events/dead_letter_watch.py)", ["topic"],
                             multiprocess_mode="livemax")

# --- the EHR ---------------------------------------------------------------------------------------------------------
EHR_RESPONSES = Counter("ketalink_ehr_responses_total",
                        "The EHR's answers to this service's messages, by the answered event and the response code "
                        "(fatal-error: refused)", ["event", "code"])
EHR_REQUEST_SECONDS = Histogram("ketalink_ehr_request_seconds",
                                "FHIR REST requests to the EHR, each attempt, by method, resource type and status "
                                "class (2xx, 4xx, 5xx, or none when no answer came)",
                                ["method", "resource_type", "status_class"],
                                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

# --- HTTP ------------------------------------------------------------------------------------------------------------
# ``route``, not ``endpoint``: Prometheus Operator gives every scraped series an ``endpoint`` label (the port's name).
HTTP_REQUESTS = Counter("ketalink_http_requests_total",
                        "HTTP requests by route (the URL rule, never the URL) and status", ["route", "status"])
HTTP_SECONDS = Histogram("ketalink_http_request_seconds", "HTTP request latency by route", ["route"])

# --- held records ----------------------------------------------------------------------------------------------------
# By consumer and state (retrying, waiting, parked), counted from the database by each consumer's retry worker
# (shared/events/holding.py); every replica counts the same rows, so processes are merged by their maximum.
HELD_RECORDS = Gauge("ketalink_held_records", "Inbound records set aside because they kept failing, by state",
                     ["consumer", "state"], multiprocess_mode="livemax")


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR_VARIABLE))


def exposition() -> tuple[bytes, str]:
    """The body and content type for ``/metrics``: every process's values summed in multiprocess mode, else this
    process's registry."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def exported_metric_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every sample name the registry serves (``_total``, ``_bucket``... included), for checks of the dashboard and
    the alert rules against what the code exports."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names
