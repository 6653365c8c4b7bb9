"""Issue 8, audit: every resource written to the EHR during the journey has a Provenance that targets it, naming
who (agent) and when (recorded).

The services write to the EHR only through FHIR messages on Kafka (no service calls the EHR's REST API to write:
``shared.fhir.client`` writes are used by the sandbox alone), and ``shared.fhir.messaging.build_message`` adds the
Provenance of every message. This test checks the outcome in the EHR rather than that construction: it reads the
EHR's whole-system history since the journey began, so a write that bypassed the messages, or a message without
its Provenance, shows up here whichever resource type it is."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from deploy.ehr_sandbox.seed import SEED_SYSTEM
from shared.fhir.codes import IDENTIFIER_BASE
from shared.fhir.datatypes import identifier, parse_instant
from shared.people import KETALINK_DEVICE_VALUE, SOFTWARE_KIND
from tests.support.backend_auth import bearer_headers
from tests.security.journey import Journey

pytestmark = pytest.mark.integration

#: What the journey's messages write (intake decisions, a signed order and its course, a session charted to a
#: signed note): the audit must see them all, or it checked less than it claims.
JOURNEY_WRITES = {"RiskAssessment", "Consent", "QuestionnaireResponse", "Observation", "Condition", "Goal",
                  "MedicationRequest", "CarePlan", "Encounter", "Procedure", "MedicationAdministration",
                  "AdverseEvent", "DocumentReference", "Task"}  # Task: the follow-up call requested at discharge


def _history_since(base_url: str, since: datetime) -> list[dict[str, Any]]:
    """Every version written since ``since`` (newest first), following the server's paging."""
    utc = since.astimezone(timezone.utc)
    instant = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    url, params = f"{base_url}/_history", {"_since": instant, "_count": "1000"}
    entries: list[dict[str, Any]] = []
    for _page in range(50):
        headers = {"Accept": "application/fhir+json", **bearer_headers(base_url)}
        bundle = requests.get(url, params=params, headers=headers, timeout=30).json()
        entries += bundle.get("entry", [])
        url = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), "")
        params = {}
        if not url:
            return entries
    raise AssertionError("the EHR's history did not end after 50 pages")


def _ketalink_identifier(resource: dict[str, Any]) -> dict[str, Any] | None:
    identifiers = resource.get("identifier") or []
    identifiers = [identifiers] if isinstance(identifiers, dict) else identifiers
    return next((i for i in identifiers if str(i.get("system", "")).startswith(IDENTIFIER_BASE)), None)


def _ehrs_own(resource: dict[str, Any]) -> bool:
    """The EHR's own records (its user directory, a patient's clinic visit), written by the sandbox on a sign-in or
    a launch: not Ketalink's writes. Ketalink's Device is not audited either: it is the agent of every Provenance
    (``shared/people.py``), not something a clinician wrote."""
    identifiers = resource.get("identifier") or []
    return resource.get("resourceType") == "Device" and any(
        i == identifier(SOFTWARE_KIND, KETALINK_DEVICE_VALUE) for i in identifiers) or any(
        i.get("system") == SEED_SYSTEM for i in identifiers if isinstance(i, dict))


def _audited_by(provenance: dict[str, Any]) -> list[str]:
    """What is wrong with a Provenance as an audit record (empty when nothing)."""
    problems = []
    if not provenance.get("agent") or not all((a.get("who") or {}).get("display") or (a.get("who") or {})
                                              .get("reference") for a in provenance["agent"]):
        problems.append("an agent without who")
    try:
        parse_instant(provenance.get("recorded", ""))
    except (TypeError, ValueError):
        problems.append("no recorded instant")
    return problems


def test_every_ehr_write_since_the_journey_began_has_a_provenance(journey: Journey, ehr):
    entries = _history_since(ehr.base_url, journey.started_at)
    current: dict[str, dict[str, Any]] = {}
    for entry in reversed(entries):  # oldest first: the latest version of each resource wins
        resource = entry.get("resource")
        if resource:
            current[f"{resource['resourceType']}/{resource['id']}"] = resource
    provenances = [r for r in current.values() if r["resourceType"] == "Provenance"]
    written = {ref: r for ref, r in current.items() if r["resourceType"] != "Provenance" and not _ehrs_own(r)}

    not_from_a_message = sorted(ref for ref, r in written.items() if _ketalink_identifier(r) is None)
    assert not not_from_a_message, f"written since the journey began without a Ketalink identifier: " \
                                   f"{not_from_a_message}"
    targets: dict[str, list[dict[str, Any]]] = {}
    for provenance in provenances:
        for target in provenance.get("target", []):
            targets.setdefault(target.get("reference", ""), []).append(provenance)
    unaudited = sorted(ref for ref in written if not targets.get(ref))
    assert not unaudited, f"EHR writes without a Provenance targeting them: {unaudited}"
    bad = {p["id"]: problems for p in provenances if (problems := _audited_by(p))}
    assert not bad, bad
    dangling = sorted(ref for ref in targets if ref not in written and not _exists(ehr, ref))
    assert not dangling, f"Provenance targets that are not resources in the EHR: {dangling}"

    assert JOURNEY_WRITES <= {r["resourceType"] for r in written.values()}, sorted(
        {r["resourceType"] for r in written.values()})
    carried = {(r["resourceType"], i["system"], i["value"]) for r in written.values()
               if (i := _ketalink_identifier(r))}
    for resource_type, kind, value in [("MedicationRequest", "order", journey.order_id),
                                       ("Observation", "vital-sign", f"{journey.session_id}/r25/bp"),
                                       ("DocumentReference", "procedure-note", journey.note_id)]:
        assert (resource_type, identifier(kind, value)["system"], value) in carried, (resource_type, kind)


def _exists(ehr, reference: str) -> bool:
    resource_type, _, resource_id = reference.partition("/")
    return requests.get(f"{ehr.base_url}/{resource_type}/{resource_id}", headers=ehr.headers(),
                        timeout=10).status_code == 200
