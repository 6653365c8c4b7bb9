"""Prometheus metrics shared by every service (served at ``/metrics``). Labels carry topics and outcomes, never PHI."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PENDING = Gauge("ketalink_outbox_pending", "Events waiting in the outbox in the last relay pass")
OUTBOX_SENT = Counter("ketalink_outbox_sent_total", "Events the broker acknowledged")
OUTBOX_SEND_FAILURES = Counter("ketalink_outbox_send_failures_total", "Relay passes that failed to reach the broker")
MESSAGES_CONSUMED = Counter("ketalink_messages_consumed_total", "Inbound messages by topic and outcome",
                            ["topic", "outcome"])
MESSAGE_SECONDS = Histogram("ketalink_message_processing_seconds", "Time to process one inbound message", ["topic"])
CONSUMER_ASSIGNMENTS = Counter("ketalink_consumer_assignments_total",
                               "Partition assignments a consumer received (one per completed group rebalance)",
                               ["consumer"])
HTTP_REQUESTS = Counter("ketalink_http_requests_total", "HTTP requests by endpoint and status", ["endpoint", "status"])
HTTP_SECONDS = Histogram("ketalink_http_request_seconds", "HTTP request latency by endpoint", ["endpoint"])
# Held records by consumer and state (retrying, waiting, parked), counted from the database by each consumer's retry
# worker (shared/events/holding.py); every replica counts the same rows, so processes are merged by their maximum.
HELD_RECORDS = Gauge("ketalink_held_records", "Inbound records set aside because they kept failing, by state",
                     ["consumer", "state"], multiprocess_mode="livemax")
