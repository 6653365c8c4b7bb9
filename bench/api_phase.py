"""API latency under concurrent clients: dose preview (and its EHR reads alone), order sign, vitals entry."""
from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

from bench import population as pop
from bench.api_load import run_clients, timed
from bench.context import Context, decide_eligible, split_cpu
from bench.inbound import BenchError
from bench.memory import CpuMeter
from bench.report import GOAL_API_P99_MS, ApiRow
from bench.sessions import start_sessions, vitals_body
from services.orders.domain.settings import ProtocolSettings
from shared.fhir.codes import BODY_WEIGHT
from tests.support.clinic_zone import clinic_zone_of_the_tests


def api(ctx: Context) -> None:
    clients, iterations = ctx.config.clients, ctx.config.iterations
    per_client = iterations + 2  # + the untimed warm-up iterations
    orders_url = ctx.service("orders").base_url
    fhir = ctx.stack.fhir

    preview_patients = [p.patient_id for p in pop.create_patients(fhir, clients)]

    def preview(session, client: int, n: int) -> float:  # type: ignore[no-untyped-def]
        seconds, _ = timed(session, "POST", f"{orders_url}/dose-preview",
                           {"patient_id": preview_patients[client]}, 200)
        return seconds

    sign_patients = [p.patient_id for p in pop.create_patients(fhir, clients * per_client)]
    decide_eligible(ctx, [ctx.services["orders"]], sign_patients)
    today = ProtocolSettings(clinic_timezone=clinic_zone_of_the_tests()).clinic_date(
        datetime.now(timezone.utc)).isoformat()  # the service's own calendar, in the zone the stack runs in

    def sign(session, client: int, n: int) -> float:  # type: ignore[no-untyped-def]
        patient_id = sign_patients[client * per_client + (n if n >= 0 else iterations - 1 - n)]
        _, order = timed(session, "POST", f"{orders_url}/orders",
                         {"patient_id": patient_id, "start_date": today, "created_by": "Dr Bench"}, 201)
        seconds, _ = timed(session, "POST", f"{orders_url}/orders/{order['order_id']}/sign",
                           {"signed_by": "Dr Bench", "attested": True}, 200)
        return seconds

    documentation_url = ctx.service("documentation").base_url
    sessions = start_sessions(documentation_url, ctx.publisher, pop.create_patients(fhir, clients))

    def vitals(session, client: int, n: int) -> float:  # type: ignore[no-untyped-def]
        chart = sessions[client]
        at = chart.started_at + timedelta(minutes=2, seconds=n + 10)
        seconds, _ = timed(session, "POST", f"{documentation_url}/sessions/{chart.session_id}/vitals",
                           vitals_body(at, n), 201)
        return seconds

    ehr_url = ctx.stack.ehr_base_url

    def ehr_reads(session, client: int, n: int) -> float:  # type: ignore[no-untyped-def]
        """The two EHR reads a dose preview makes (Patient, latest usable weight), timed together."""
        patient_id = preview_patients[client]
        started = time.perf_counter()
        for url, params in ((f"{ehr_url}/Patient/{patient_id}", None), (f"{ehr_url}/Observation", {
                "subject": f"Patient/{patient_id}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
                "status": "final,amended,corrected", "_sort": "-date", "_count": 1})):
            answer = session.get(url, params=params, headers={"Accept": "application/fhir+json"}, timeout=30)
            if answer.status_code != 200:
                raise BenchError(f"EHR read: HTTP {answer.status_code}")
        return time.perf_counter() - started

    for operation, iteration, goal, service in (
            ("dose preview (orders)", preview, GOAL_API_P99_MS, "orders"),
            ("  its 2 EHR reads alone (reference)", ehr_reads, None, None),
            ("order sign (orders)", sign, None, "orders"),
            ("vitals entry (documentation)", vitals, GOAL_API_P99_MS, "documentation")):
        names = (service,) if service else ()
        with ctx.profiled(f"api-{operation.split()[0]}", names), CpuMeter(ctx.cpu_of(*names)) as cpu:
            result = run_clients(clients, iterations, iteration)
        service_cpu, ehr_cpu = split_cpu(cpu.ms_per(clients * per_client))
        ctx.report.api.append(ApiRow(operation, clients, result.latency.count, result.latency.p50_ms,
                                     result.latency.p99_ms, result.requests_per_second, goal,
                                     service_cpu if service else math.nan, ehr_cpu))
