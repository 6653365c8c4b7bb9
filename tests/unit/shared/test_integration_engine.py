"""The integration engine's translation of a message into one FHIR transaction (pure, no servers)."""
import pytest

from deploy.ehr_sandbox.integration_engine import build_transaction
from shared.events.consumer import PermanentError
from shared.fhir.datatypes import identifier, reference_by_identifier
from shared.fhir.messaging import build_message, parse_message


def _administration() -> dict:
    return {"resourceType": "MedicationAdministration", "id": "local-id",
            "identifier": [identifier("administration", "a1")], "status": "completed",
            "medicationCodeableConcept": {"text": "ketamine"}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-11-27T10:00:00+00:00",
            "request": reference_by_identifier("MedicationRequest", "order", "o1")}


def test_resources_become_conditional_updates_and_references_are_resolved():
    message = parse_message(build_message("session-completed", "urn:t", [_administration()], message_id="m1"))
    resolved = []

    def resolve(resource_type, system, value):
        resolved.append((resource_type, system, value))
        return f"{resource_type}/ehr-42"

    transaction = build_transaction(message, resolve)
    administration, provenance = transaction["entry"]
    assert transaction["type"] == "transaction"
    assert administration["request"] == {
        "method": "PUT",
        "url": "MedicationAdministration?identifier=https://ketalink.example.org/fhir/identifier/administration|a1"}
    assert "id" not in administration["resource"]  # the EHR keeps its own ids
    assert administration["resource"]["request"]["reference"] == "MedicationRequest/ehr-42"
    assert resolved == [("MedicationRequest", "https://ketalink.example.org/fhir/identifier/order", "o1")]
    assert provenance["request"] == {"method": "PUT", "url": f"Provenance/{provenance['resource']['id']}"}
    assert provenance["resource"]["target"] == [{"reference": administration["fullUrl"]}]


def test_a_resource_without_a_ketalink_identifier_is_refused():
    administration = _administration()
    administration.pop("identifier")
    message = parse_message(build_message("session-completed", "urn:t", [administration]))
    with pytest.raises(PermanentError, match="no Ketalink identifier"):
        build_transaction(message, lambda *_: "MedicationRequest/x")
