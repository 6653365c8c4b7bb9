"""CDS Hooks ``order-sign`` latency under concurrent clients (issue 17's goal: p99 < 200 ms at 8 clients).

An orders process of its own trusts one EHR by a pinned JWKS file (the bench's key pair, made per run); every call
carries a JWT signed with it and a fresh ``jti`` (the replay check stores each one), and the full prefetch the
discovery document asks for, filled from the EHR sandbox as an EHR fills it, so the timed request is the service's
whole work on a hook call: the JWT checks, the prefetch's structural validation, the patient's facts from its own
store and the cards. The draft is a protocol-correct order for an eligible patient: the answer must be card-free,
else the phase fails (a card would mean the setup, not the hook, is being measured).

Two rows: orders as ``make run`` runs it (one process, web and worker threads, on the bench's ``--database``), and
orders as production runs it (``tests/support/prod_model.py``: gunicorn with ``deploy/docker/gunicorn.conf.py``,
2 workers of 8 threads, the worker as its own process, a PostgreSQL database with the deployed roles), when
PostgreSQL is installed. ``--profile`` samples the first one with py-spy (``profile-orders-cds-cds.txt``)."""
from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from bench import population as pop
from bench.api_load import ApiRefused, run_clients
from bench.context import Context, decide_eligible, split_cpu
from bench.memory import CpuMeter
from bench.process_models import ServiceUnderTest, as_make_run, as_production, production_available
from bench.profiling import Profiler
from bench.report import GOAL_CDS_P99_MS, ApiRow
from services.orders.cds_hooks.discovery import ORDER_SIGN, PREFETCH
from shared.fhir.client import FhirClient
from tests.integration.orders.support import cpoe_medication_request

ISS = "https://ehr.bench.example/cds-client"
KID = "bench-es384"


def cds(ctx: Context) -> None:
    key = ECKey.generate_key("P-384", parameters={"kid": KID})
    jwks_file = ctx.stack.root / "cds-pinned-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False) | {"kid": KID, "alg": "ES384",
                                                                              "use": "sig"}]}))
    trusted = {"ORDERS_CDS_TRUSTED_ISSUERS": json.dumps(
        {ISS: {"jwks_file": str(jwks_file), "fhir_servers": [ctx.stack.ehr_base_url]}})}
    store = "PostgreSQL" if ctx.config.database == "postgres" else "SQLite"
    with as_make_run(ctx, "orders", trusted, label="-cds") as orders:
        _measure(ctx, key, orders, f"CDS order-sign hook (orders, one process, {store})", profile=True)
    if not production_available():
        ctx.report.notes.append("cds: the production-model row needs PostgreSQL (initdb, pg_ctl): not run")
        return
    with as_production(ctx, "orders", trusted, label="-cds-prod") as orders:
        _measure(ctx, key, orders, "CDS order-sign hook (orders, gunicorn 2x8 + worker, PostgreSQL)")


def _measure(ctx: Context, key: ECKey, orders: ServiceUnderTest, label: str, profile: bool = False) -> None:
    clients, iterations = ctx.config.clients, ctx.config.iterations
    fhir = ctx.stack.fhir
    patient_ids = [p.patient_id for p in pop.create_patients(fhir, clients)]
    decide_eligible(ctx, [orders], patient_ids)
    prefetches = [_prefetch(fhir, patient_id) for patient_id in patient_ids]
    url = f"{orders.base_url}/cds-services/{ORDER_SIGN}"
    # Every call's body and JWT made before the clients start: the bench process's own JSON encoding and ES384
    # signing would otherwise run inside the timed request and contend for its GIL with the other clients' threads
    warmup = 2
    calls = {(client, n): _call(key, url, patient_ids[client], prefetches[client], client, n)
             for client in range(clients) for n in range(-warmup, iterations)}

    def sign(session: requests.Session, client: int, n: int) -> float:
        body, headers = calls[(client, n)]
        started = time.perf_counter()
        answer = session.post(url, data=body, headers=headers, timeout=30)
        elapsed = time.perf_counter() - started
        if answer.status_code != 200 or answer.json().get("cards"):
            raise ApiRefused(f"order-sign hook: HTTP {answer.status_code}, expected 200 and no card: "
                             f"{answer.text[:300]}")
        return elapsed

    cpu_of = {**orders.pids, "ehr": ctx.ehr_pid}
    profiler = (Profiler(ctx.config.out_dir, "cds", {"orders-cds": next(iter(orders.pids.values()))})
                if profile and ctx.config.profile else contextlib.nullcontext())
    with CpuMeter(cpu_of) as cpu, profiler:
        result = run_clients(clients, iterations, sign, warmup)
    service_cpu, ehr_cpu = split_cpu(cpu.ms_per(clients * (iterations + warmup)))
    ctx.report.api.append(ApiRow(label, clients, result.latency.count, result.latency.p50_ms,
                                 result.latency.p99_ms, result.requests_per_second, GOAL_CDS_P99_MS,
                                 service_cpu, ehr_cpu, key="cds order-sign", model=orders.model))


def _call(key: ECKey, url: str, patient_id: str, prefetch: dict[str, Any], client: int, n: int
          ) -> tuple[bytes, dict[str, str]]:
    """One hook call as the EHR sends it: the draft (a protocol-correct order), the full prefetch, its own JWT."""
    draft = cpoe_medication_request(patient_id) | {"id": f"draft-{client}-{n}", "status": "draft"}
    body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()), "prefetch": prefetch,
            "context": {"userId": "Practitioner/bench-prescriber", "patientId": patient_id,
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [{"resource": draft}]}}}
    return json.dumps(body).encode(), {"Authorization": f"Bearer {_token(key, url)}",
                                       "Content-Type": "application/json"}


def _token(key: ECKey, aud: str) -> str:
    """As the EHR signs each hook call: a fresh ``jti``, five minutes to live."""
    now = int(time.time())
    claims = {"iss": ISS, "sub": "bench-cds-client", "aud": aud, "iat": now, "exp": now + 300,
              "jti": str(uuid.uuid4())}
    return jwt.encode({"alg": "ES384", "kid": KID, "typ": "JWT"}, claims, key, algorithms=["ES384"])


def _prefetch(fhir: FhirClient, patient_id: str) -> dict[str, Any]:
    """Every key of the discovery document, filled from the EHR as an EHR fills its templates."""
    filled: dict[str, Any] = {}
    for name, template in PREFETCH.items():
        query = template.replace("{{context.patientId}}", patient_id)
        resource_type, _, params = query.partition("?")
        if not params:
            kind, _, resource_id = resource_type.partition("/")
            filled[name] = fhir.read(kind, resource_id)
            continue
        found = fhir.search_first_page(resource_type, dict(parse_qsl(params, keep_blank_values=True)))
        filled[name] = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                        "entry": [{"resource": r, "search": {"mode": "match"}} for r in found]}
    return filled
