"""What the FHIR client puts on the wire and how it reads answers the sandbox never gives, over a real socket
(tests/unit/shared/recording_server.py): every search, and every page of it, asks for a fresh answer
(``Cache-Control: no-cache``: HAPI FHIR reuses a search's result for 60 s otherwise, HZ-84); a stale If-Match answered
409, as HAPI does, is the same version conflict as a 412; a 409 to anything else is not."""
from __future__ import annotations

import pytest

from shared.fhir.client import FhirClient, FhirError, FhirPreconditionFailed
from tests.unit.shared.recording_server import recording_server

CONFLICT = {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "conflict", "diagnostics": "HAPI-0989: version conflict"}]}


def _page(base_url: str, resource_id: str, next_page: str | None) -> dict:
    links = [{"relation": "next", "url": f"{base_url}/{next_page}"}] if next_page else []
    return {"resourceType": "Bundle", "type": "searchset", "link": links,
            "entry": [{"resource": {"resourceType": "Observation", "id": resource_id}, "search": {"mode": "match"}}]}


def test_every_search_and_every_page_of_it_asks_for_a_fresh_answer():
    base: list[str] = []

    def answers(method: str, path: str) -> tuple[int, dict]:
        if "page=2" in path:
            return 200, _page(base[0], "second", None)
        return 200, _page(base[0], "first", "Observation?page=2")

    with recording_server(answers) as ehr:
        base.append(ehr.base_url)
        client = FhirClient(ehr.base_url)
        found = client.search("Observation", {"subject": "Patient/p1", "_count": 1})
        first_page = client.search_first_page("Observation", {"subject": "Patient/p1", "_count": 1})
        client.read("Patient", "p1")
    assert [r["id"] for r in found] == ["first", "second"] and [r["id"] for r in first_page] == ["first"]
    searches, patient_read = ehr.requests[:3], ehr.requests[3]
    assert [r.path.split("?")[0] for r in searches] == ["/fhir/Observation"] * 3
    assert [r.headers.get("Cache-Control") for r in searches] == ["no-cache"] * 3
    assert "Cache-Control" not in patient_read.headers  # a read names one version; nothing to recompute


@pytest.mark.parametrize("status", [409, 412])
def test_a_stale_if_match_is_a_version_conflict_whether_the_server_says_409_or_412(status: int):
    with recording_server(lambda method, path: (status, CONFLICT)) as ehr:
        with pytest.raises(FhirPreconditionFailed) as refused:
            FhirClient(ehr.base_url).update({"resourceType": "Device", "id": "d1", "status": "inactive"},
                                            version_id="1")
    assert ehr.requests[0].headers["If-Match"] == 'W/"1"'
    assert refused.value.status == status and refused.value.issues == ["HAPI-0989: version conflict"]
    assert refused.value.outcome == CONFLICT


def test_a_409_without_if_match_is_not_taken_for_a_version_conflict():
    with recording_server(lambda method, path: (409, CONFLICT)) as ehr:
        with pytest.raises(FhirError) as refused:
            FhirClient(ehr.base_url).update({"resourceType": "Device", "id": "d1", "status": "inactive"})
    assert refused.value.status == 409 and not isinstance(refused.value, FhirPreconditionFailed)
