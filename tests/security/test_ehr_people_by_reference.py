"""Every person Ketalink wrote to the EHR during the journey is a reference (``shared/people.py``): read back from the
EHR itself, the resources each Ketalink Provenance covers and the Provenances. The journey's clinician calls with a
bearer token that names them (``fhirUser``), so nothing of it may be a name alone; the one exception is who signs
a consent for the patient (a legal representative, named as the form gives them), and a referral's therapist."""
from __future__ import annotations

from typing import Any

import pytest

from tests.security.journey import Journey
from tests.security.test_ehr_writes_audited import _history_since
from tests.support.people import people_without_reference, person_elements

pytestmark = pytest.mark.integration


def _named_only_rightly(path: str, reference: dict[str, Any]) -> bool:
    return (path.startswith("Consent.performer") and reference.get("type") == "RelatedPerson") or \
        path.startswith("ServiceRequest.performer")


def test_every_person_ketalink_wrote_to_the_ehr_is_a_reference(journey: Journey, ehr):
    current: dict[str, dict[str, Any]] = {}
    for entry in reversed(_history_since(ehr.base_url, journey.started_at)):  # oldest first: the latest wins
        resource = entry.get("resource")
        if resource:
            current[f"{resource['resourceType']}/{resource['id']}"] = resource
    ketalinks = [p for p in current.values() if p["resourceType"] == "Provenance"
                 and any((a.get("who") or {}).get("reference", "").startswith("Device/") for a in p.get("agent", []))]
    covered = {target.get("reference") for p in ketalinks for target in p.get("target", [])}
    written = ketalinks + [current[ref] for ref in sorted(covered) if ref in current]
    assert len(ketalinks) > 10 and len(written) > len(ketalinks)  # the journey's writes were found
    assert people_without_reference(written, _named_only_rightly) == []
    authors = [ref for path, ref in person_elements(ketalinks) if path.endswith(".who")]
    assert any(ref["reference"].startswith("Practitioner/") for ref in authors)  # the clinician, resolved
