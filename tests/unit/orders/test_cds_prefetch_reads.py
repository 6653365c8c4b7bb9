"""The keys a hook's prefetch lacks, read from the EHR (``services/orders/cds_hooks/prefetch.py``) on a real socket:
a list (the problem list, ketamine orders, the eligibility decisions) is read whole, following the EHR's ``next``
links, so a contraindication on a second page is still seen; "the latest one" (``_count=1``) is one page; each
template is filled from the hook's context with the request's token."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.fhir.codes import CONDITION_CLINICAL
from shared.web import ApiError
from services.orders.cds_hooks.discovery import PREFETCH
from services.orders.cds_hooks.prefetch import MAX_PAGES, resolve_prefetch
from services.orders.cds_hooks.request import HookRequest
from tests.unit.shared.recording_server import recording_server

PATIENT = "p-1"


def _condition(condition_id: str, code: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": condition_id, "subject": {"reference": f"Patient/{PATIENT}"},
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]}}


def _bundle(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                              "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def test_a_list_key_is_read_over_every_page_and_a_latest_key_is_one_page() -> None:
    base: dict[str, str] = {}

    def answers(method: str, path: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(path)
        query = parse_qs(url.query)
        if url.path.endswith("/Patient/p-1"):
            return 200, {"resourceType": "Patient", "id": PATIENT}
        if url.path.endswith("/Condition") and "page" not in query:
            return 200, _bundle([_condition("c1", "F33.2")], f"{base['url']}/Condition?patient={PATIENT}&page=2")
        if url.path.endswith("/Condition"):
            return 200, _bundle([_condition("c2", "I61.9")])
        if "page" in query:
            return 200, _bundle([])
        # every other search: a first page that says more follow (a "latest one" read must not follow it)
        return 200, _bundle([], f"{base['url']}{url.path.removeprefix('/fhir')}?page=2&{url.query}")

    with recording_server(answers) as ehr:
        base["url"] = ehr.base_url
        request = HookRequest("order-sign", "h-1", PATIENT, "Practitioner/u-1", None, (), (), ehr.base_url,
                              "token-1", {})
        resolved = resolve_prefetch(request, ehr.base_url, timeout_s=5)
    assert [c["id"] for c in resolved["conditions"]] == ["c1", "c2"]
    assert set(resolved) == set(PREFETCH)
    paths = [r.path for r in ehr.requests]
    assert sum("/Condition" in p for p in paths) == 2
    for latest in ("weight", "newerWeights", "height", "pregnancyStatus"):
        assert "_count=1" in PREFETCH[latest]
    assert not any("page=2" in p and "/Observation" in p for p in paths)  # one page for "the latest one"
    assert sum("/MedicationRequest" in p for p in paths) == 4  # medications and ketamineOrders: both pages each
    assert all(r.headers.get("Authorization") == "Bearer token-1" for r in ehr.requests)
    assert any(f"subject=Patient%2F{PATIENT}" in p or f"subject=Patient/{PATIENT}" in p
               for p in paths if "/RiskAssessment" in p)


def test_an_ehr_whose_pages_never_end_is_a_412_not_a_hang() -> None:
    base: dict[str, str] = {}

    def answers(method: str, path: str) -> tuple[int, dict[str, Any]]:
        if "/Patient/" in path:
            return 200, {"resourceType": "Patient", "id": PATIENT}
        return 200, _bundle([], f"{base['url']}/Condition?patient={PATIENT}&page=again")

    prefetch = {key: None for key in PREFETCH if key != "conditions"}
    with recording_server(answers) as ehr:
        base["url"] = ehr.base_url
        request = HookRequest("order-sign", "h-1", PATIENT, "Practitioner/u-1", None, (), (), ehr.base_url,
                              "token-1", prefetch)
        with pytest.raises(ApiError) as refused:
            resolve_prefetch(request, ehr.base_url, timeout_s=5)
    assert refused.value.status == 412 and f"more than {MAX_PAGES} pages" in str(refused.value)
    assert len(ehr.requests) == MAX_PAGES
