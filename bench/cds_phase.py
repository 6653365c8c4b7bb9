"""CDS Hooks ``order-sign`` latency under concurrent clients (issue 17's goal: p99 < 200 ms at 8 clients).

An orders process of its own trusts one EHR by a pinned JWKS file (the bench's key pair, made per run); every call
carries a JWT signed with it and a fresh ``jti`` (the replay check stores each one), and the full prefetch the
discovery document asks for, filled from the EHR sandbox as an EHR fills it, so the timed request is the service's
whole work on a hook call: the JWT checks, the prefetch's structural validation, the patient's facts from its own
store and the cards. The draft is a protocol-correct order for an eligible patient: the answer must be card-free,
else the phase fails (a card would mean the setup, not the hook, is being measured)."""
from __future__ import annotations

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
from bench.report import GOAL_CDS_P99_MS, ApiRow
from services.orders.cds_hooks.discovery import ORDER_SIGN, PREFETCH
from shared.fhir.client import FhirClient
from tests.integration.orders.support import cpoe_medication_request

ISS = "https://ehr.bench.example/cds-client"
KID = "bench-es384"


def cds(ctx: Context) -> None:
    clients, iterations = ctx.config.clients, ctx.config.iterations
    key = ECKey.generate_key("P-384", parameters={"kid": KID})
    jwks_file = ctx.stack.root / "cds-pinned-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=False) | {"kid": KID, "alg": "ES384",
                                                                              "use": "sig"}]}))
    trusted = {ISS: {"jwks_file": str(jwks_file), "fhir_servers": [ctx.stack.ehr_base_url]}}
    running = ctx.stack.start_service("orders", label="-cds",
                                      extra_env={"ORDERS_CDS_TRUSTED_ISSUERS": json.dumps(trusted)})
    try:
        fhir = ctx.stack.fhir
        patient_ids = [p.patient_id for p in pop.create_patients(fhir, clients)]
        decide_eligible(ctx, [running], patient_ids)
        prefetches = [_prefetch(fhir, patient_id) for patient_id in patient_ids]
        url = f"{running.base_url}/cds-services/{ORDER_SIGN}"

        def sign(session: requests.Session, client: int, n: int) -> float:
            patient_id = patient_ids[client]
            draft = cpoe_medication_request(patient_id) | {"id": f"draft-{client}-{n}", "status": "draft"}
            body = {"hook": "order-sign", "hookInstance": str(uuid.uuid4()), "prefetch": prefetches[client],
                    "context": {"userId": "Practitioner/bench-prescriber", "patientId": patient_id,
                                "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                                "entry": [{"resource": draft}]}}}
            headers = {"Authorization": f"Bearer {_token(key, url)}"}
            started = time.perf_counter()
            answer = session.post(url, json=body, headers=headers, timeout=30)
            elapsed = time.perf_counter() - started
            if answer.status_code != 200 or answer.json().get("cards"):
                raise ApiRefused(f"order-sign hook: HTTP {answer.status_code}, expected 200 and no card: "
                                 f"{answer.text[:300]}")
            return elapsed

        cpu_of = {"service-orders-cds": running.pid, "ehr": ctx.ehr_pid}
        with CpuMeter(cpu_of) as cpu:
            result = run_clients(clients, iterations, sign)
        service_cpu, ehr_cpu = split_cpu(cpu.ms_per(clients * (iterations + 2)))
        ctx.report.api.append(ApiRow("CDS order-sign hook (orders, full prefetch)", clients,
                                     result.latency.count, result.latency.p50_ms, result.latency.p99_ms,
                                     result.requests_per_second, GOAL_CDS_P99_MS,
                                     service_cpu, ehr_cpu))
    finally:
        ctx.stack.stop(running)


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
