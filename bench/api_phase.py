"""API latency under concurrent clients: dose preview (and its EHR reads alone), order sign, vitals entry; first
with orders and documentation as ``make run`` runs them (the one process the inbound phases share), then as
production runs them (``bench/process_models.py``: gunicorn workers, the worker process, PostgreSQL with the
deployed roles), the model issue 19's p99 goals are stated for. Each row's CPU counts every process of the service."""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import requests

from bench import population as pop
from bench.api_load import run_clients, timed
from bench.context import Context, decide_eligible, split_cpu
from bench.inbound import BenchError
from bench.memory import CpuMeter
from bench.process_models import PRODUCTION, ServiceUnderTest, as_production, production_available, shared
from bench.report import (
    DOSE_PREVIEW, DOSE_PREVIEW_P99, ORDER_SIGN, ORDER_SIGN_P99, VITALS_ENTRY, VITALS_ENTRY_P99, ApiRow,
)
from bench.sessions import start_sessions, vitals_body
from services.orders.domain.settings import ProtocolSettings
from shared.fhir.codes import BODY_WEIGHT
from tests.support.backend_auth import bearer_headers
from tests.support.clinic_zone import clinic_zone_of_the_tests

Iteration = Callable[[requests.Session, int, int], float]


def api(ctx: Context) -> None:
    _measure(ctx, shared(ctx, "orders"), shared(ctx, "documentation"))
    if not production_available():
        ctx.report.notes.append("api: the production-model rows need PostgreSQL (initdb, pg_ctl): not run")
        return
    with as_production(ctx, "orders", {}) as orders, as_production(ctx, "documentation", {}) as documentation:
        _measure(ctx, orders, documentation)


def _measure(ctx: Context, orders: ServiceUnderTest, documentation: ServiceUnderTest) -> None:
    """The rows of one process model. The goals' p99 apply to the production model only; the EHR reads alone are
    timed once, with the one-process rows, as the reference for dose preview."""
    clients, iterations = ctx.config.clients, ctx.config.iterations
    per_client = iterations + 2  # + the untimed warm-up iterations
    fhir = ctx.stack.fhir
    production = orders.model == PRODUCTION

    preview_patients = [p.patient_id for p in pop.create_patients(fhir, clients)]

    def preview(session: requests.Session, client: int, n: int) -> float:
        seconds, _ = timed(session, "POST", f"{orders.base_url}/dose-preview",
                           {"patient_id": preview_patients[client]}, 200)
        return seconds

    sign_patients = [p.patient_id for p in pop.create_patients(fhir, clients * per_client)]
    decide_eligible(ctx, [orders], sign_patients)
    today = ProtocolSettings(clinic_timezone=clinic_zone_of_the_tests()).clinic_date(
        datetime.now(timezone.utc)).isoformat()  # the service's own calendar, in the zone the stack runs in

    def sign(session: requests.Session, client: int, n: int) -> float:
        patient_id = sign_patients[client * per_client + (n if n >= 0 else iterations - 1 - n)]
        _, order = timed(session, "POST", f"{orders.base_url}/orders",
                         {"patient_id": patient_id, "start_date": today, "created_by": "Dr Bench"}, 201)
        seconds, _ = timed(session, "POST", f"{orders.base_url}/orders/{order['order_id']}/sign",
                           {"signed_by": "Dr Bench", "attested": True}, 200)
        return seconds

    sessions = start_sessions(documentation.base_url, ctx.publisher, pop.create_patients(fhir, clients))

    def vitals(session: requests.Session, client: int, n: int) -> float:
        chart = sessions[client]
        at = chart.started_at + timedelta(minutes=2, seconds=n + 10)
        seconds, _ = timed(session, "POST", f"{documentation.base_url}/sessions/{chart.session_id}/vitals",
                           vitals_body(at, n), 201)
        return seconds

    ehr_url = ctx.stack.ehr_base_url
    # as the orders service reads: with a backend token (the sandbox's FHIR API refuses a request without one)
    ehr_headers = {"Accept": "application/fhir+json", **bearer_headers(ehr_url)}

    def ehr_reads(session: requests.Session, client: int, n: int) -> float:
        """The two EHR reads a dose preview makes (Patient, latest usable weight), timed together."""
        patient_id = preview_patients[client]
        started = time.perf_counter()
        for url, params in ((f"{ehr_url}/Patient/{patient_id}", None), (f"{ehr_url}/Observation", {
                "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
                "status": "final,amended,corrected", "_sort": "-date", "_count": 1})):
            answer = session.get(url, params=params, headers=ehr_headers, timeout=30)
            if answer.status_code != 200:
                raise BenchError(f"EHR read: HTTP {answer.status_code}")
        return time.perf_counter() - started

    rows: list[tuple[str, str, Iteration, float | None, ServiceUnderTest | None]] = [
        (DOSE_PREVIEW, "dose preview (orders)", preview, DOSE_PREVIEW_P99.target, orders),
        ("", "  its 2 EHR reads alone (reference)", ehr_reads, None, None),
        (ORDER_SIGN, "order sign (orders)", sign, ORDER_SIGN_P99.target, orders),
        (VITALS_ENTRY, "vitals entry (documentation)", vitals, VITALS_ENTRY_P99.target, documentation)]
    for key, operation, iteration, goal_p99_ms, service in rows:
        if production and service is None:
            continue
        pids = service.pids if service else {}
        profiled = (contextlib.nullcontext() if production
                    else ctx.profiled(f"api-{operation.split()[0]}", (service.name,) if service else ()))
        with profiled, CpuMeter({**pids, "ehr": ctx.ehr_pid}) as cpu:
            result = run_clients(clients, iterations, iteration)
        service_cpu, ehr_cpu = split_cpu(cpu.ms_per(clients * per_client))
        ctx.report.api.append(ApiRow(operation, clients, result.latency.count, result.latency.p50_ms,
                                     result.latency.p99_ms, result.requests_per_second,
                                     goal_p99_ms if production else None, service_cpu if service else math.nan,
                                     ehr_cpu, key=key, model=service.model if service else ""))

