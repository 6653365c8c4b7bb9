"""The raw broker baseline and the three inbound paths (docs/performance.md says what each row covers)."""
from __future__ import annotations

import json
import math
import uuid
from datetime import timedelta

from bench import population as pop
from bench import raw_broker
from bench.context import Context, decide_eligible, split_cpu
from bench.inbound import Answered, Committed, PathEnd, PathResult, run_path
from bench.report import InboundRow, RawRow
from bench.sessions import start_sessions
from bench.watch import ProcessedLog
from shared.events.topics import EHR_EVENTS
from tests.integration.orders.support import cpoe_medication_request

INBOUND_SESSIONS = 8  # documentation sessions the EHR vitals are spread over


def raw(ctx: Context) -> None:
    record = sample_record()
    for mode in raw_broker.MODES:
        result = raw_broker.measure(ctx.stack.bootstrap, mode, ctx.config.raw_messages,
                                    max(ctx.config.one_by_one, 20), record, ctx.config.partitions,
                                    timeout_s=ctx.config.timeout_s)
        ctx.report.raw.append(RawRow(mode, result.throughput.per_second, result.latency.p50_ms,
                                     result.latency.p99_ms, result.record_bytes))


def sample_record() -> bytes:
    """A record the size of an inbound ``cpoe-order-placed`` message (the largest of the three inbound kinds)."""
    message = pop.announce({**cpoe_medication_request(str(uuid.uuid4())), "id": str(uuid.uuid4())},
                           "cpoe-order-placed")
    return json.dumps(message, separators=(",", ":")).encode()


def intake(ctx: Context) -> None:
    """``referral-requested`` → the intake reads the patient's record from the EHR (Patient, Conditions,
    MedicationStatements, vitals) and stores a new intake. No EHR write: the intake writes to the EHR only when a
    clinician decides eligibility over HTTP."""
    service = ctx.service("intake")
    n, m = ctx.config.messages, ctx.config.one_by_one
    patients = pop.create_patients(ctx.stack.fhir, 20)
    messages = pop.referrals(ctx.stack.fhir, [patients[i % len(patients)].patient_id for i in range(n + m)])
    items = [(message["entry"][1]["resource"]["subject"]["reference"].split("/")[1], message) for message in messages]
    ends: list[PathEnd] = [Committed(ProcessedLog([service.log_path]), EHR_EVENTS, "committed (intake stored)")]
    with ctx.profiled("inbound", ("intake",)):
        result = run_path(ctx.publisher, EHR_EVENTS, items[:n], items[n:], ends, ctx.config.timeout_s,
                          ctx.cpu_of("intake"))
    _inbound_rows(ctx, "intake", "referral-requested → intake started", result)


def orders(ctx: Context) -> None:
    """``cpoe-order-placed`` (a MedicationRequest the EHR's CPOE stored) → orders reads the patient's weight from
    the EHR, checks the order against the protocol and the intake's eligibility, stores the order, series and
    treatment course, and answers (``cpoe-order-response``) and announces (``order-signed``, ``course-changed``)
    through its outbox → the EHR's engine stores the MedicationRequest + CarePlan and answers ok."""
    service = ctx.service("orders")
    n, m = ctx.config.messages, ctx.config.one_by_one
    patients = pop.create_patients(ctx.stack.fhir, n + m)
    decide_eligible(ctx, [service], [p.patient_id for p in patients])
    messages = pop.cpoe_orders(ctx.stack.fhir, [p.patient_id for p in patients])
    items = [(p.patient_id, message) for p, message in zip(patients, messages)]
    ends: list[PathEnd] = [
        Committed(ProcessedLog([service.log_path]), EHR_EVENTS, "committed (order stored)"),
        Answered(ctx.watcher, "cpoe-order-response", "answer on orders.events"),
        Answered(ctx.watcher, "order-signed", "EHR stored the order (ok)"),
    ]
    with ctx.profiled("inbound", ("orders",)):
        result = run_path(ctx.publisher, EHR_EVENTS, items[:n], items[n:], ends, ctx.config.timeout_s,
                          ctx.cpu_of("orders"))
    _inbound_rows(ctx, "orders", "cpoe-order-placed → order accepted", result)


def documentation(ctx: Context) -> None:
    """``vitals-recorded`` (a bedside-monitor heart rate the EHR stored) → documentation charts it in the
    flowsheet of the patient's infusing session. No EHR write: a reading that came from the EHR is not sent back
    (only one that raises an alert would be, as a Flag)."""
    service = ctx.service("documentation")
    n, m = ctx.config.messages, ctx.config.one_by_one
    patients = pop.create_patients(ctx.stack.fhir, INBOUND_SESSIONS)
    sessions = start_sessions(service.base_url, ctx.publisher, patients)
    readings = [(sessions[i % len(sessions)].patient_id,
                 sessions[i % len(sessions)].started_at + timedelta(minutes=1, seconds=i)) for i in range(n + m)]
    messages = pop.ehr_heart_rates(ctx.stack.fhir, readings)
    items = [(patient_id, message) for (patient_id, _), message in zip(readings, messages)]
    ends: list[PathEnd] = [Committed(ProcessedLog([service.log_path]), EHR_EVENTS, "committed (reading charted)")]
    with ctx.profiled("inbound", ("documentation",)):
        result = run_path(ctx.publisher, EHR_EVENTS, items[:n], items[n:], ends, ctx.config.timeout_s,
                          ctx.cpu_of("documentation"))
    _inbound_rows(ctx, "documentation", "vitals-recorded → reading charted", result)


def _inbound_rows(ctx: Context, service: str, path: str, result: PathResult) -> None:
    raw_rate = ctx.report.raw_rate()
    service_cpu, ehr_cpu = split_cpu(result.cpu_ms_per_message)
    for n, (end, throughput) in enumerate(result.throughput.items()):
        latency = result.latency[end]
        ctx.report.inbound.append(InboundRow(service, path, end, throughput.per_second, latency.p50_ms,
                                             latency.p99_ms, throughput.per_second / raw_rate,
                                             service_cpu if n == 0 else math.nan, ehr_cpu if n == 0 else math.nan))
