"""The integration engine's translation of a message into one FHIR transaction (pure, no servers)."""
import pytest

from deploy.ehr_sandbox.integration_engine import build_transaction, ehr_resource_id
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
    administration, device, provenance = transaction["entry"]
    assert transaction["type"] == "transaction"
    store_id = ehr_resource_id("https://ketalink.example.org/fhir/identifier/administration", "a1")
    assert administration["request"] == {"method": "PUT", "url": f"MedicationAdministration/{store_id}"}
    assert administration["resource"]["id"] == store_id  # derived from the identifier: a second PUT is no copy
    assert administration["resource"]["request"]["reference"] == "MedicationRequest/ehr-42"
    assert resolved == [("MedicationRequest", "https://ketalink.example.org/fhir/identifier/order", "o1")]
    assert provenance["request"] == {"method": "PUT", "url": f"Provenance/{provenance['resource']['id']}"}
    assert provenance["resource"]["target"] == [{"reference": administration["fullUrl"]}]
    # Ketalink, the Device that assembled the message, is applied once (its id derived from its identifier) and
    # the Provenance's agent points at it by the entry's fullUrl, which the EHR resolves in the transaction
    assert device["request"] == {"method": "PUT", "url": f"Device/{device['resource']['id']}"}
    assert provenance["resource"]["agent"][-1]["who"]["reference"] == device["fullUrl"]


def test_a_resource_without_a_ketalink_identifier_is_refused():
    administration = _administration()
    administration.pop("identifier")
    message = parse_message(build_message("session-completed", "urn:t", [administration]))
    with pytest.raises(PermanentError, match="no Ketalink identifier"):
        build_transaction(message, lambda *_: "MedicationRequest/x")


def test_references_to_resources_of_the_same_message_use_their_full_url():
    care_plan = {"resourceType": "CarePlan", "identifier": [identifier("series", "s1")], "status": "active",
                 "intent": "plan", "subject": {"reference": "Patient/p1"}}
    request = {"resourceType": "MedicationRequest", "identifier": [identifier("order", "o1")], "status": "active",
               "intent": "order", "medicationCodeableConcept": {"text": "ketamine"},
               "subject": {"reference": "Patient/p1"}, "basedOn": [reference_by_identifier("CarePlan", "series", "s1")]}
    message = parse_message(build_message("order-signed", "urn:t", [request, care_plan]))

    def no_earlier_resources(*_):
        raise AssertionError("a resource of the same message must not be looked up in the store")

    transaction = build_transaction(message, no_earlier_resources)
    assert transaction["entry"][0]["resource"]["basedOn"][0]["reference"] == transaction["entry"][1]["fullUrl"]


def test_a_single_identifier_as_on_questionnaire_response_is_read():
    response = {"resourceType": "QuestionnaireResponse", "identifier": identifier("phq9", "q1"),
                "status": "completed", "subject": {"reference": "Patient/p1"}}
    transaction = build_transaction(parse_message(build_message("x", "urn:t", [response])), lambda *_: "")
    assert transaction["entry"][0]["request"]["url"] == (
        f"QuestionnaireResponse/{ehr_resource_id('https://ketalink.example.org/fhir/identifier/phq9', 'q1')}")
