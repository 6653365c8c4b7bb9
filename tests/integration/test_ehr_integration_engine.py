"""The EHR sandbox's integration engine against the real broker and FHIR server: a Ketalink message is applied once
(also when delivered twice), answered with a response, and a malformed record lands on the dead-letter topic."""
from __future__ import annotations

import uuid

import pytest

from deploy.ehr_sandbox.integration_engine import StoreReferences, build_transaction, ehr_resource_id
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.events.consumer import TransientError
from shared.fhir.client import FhirClient
from shared.events.topics import EHR_RESPONSES, INTAKE_EVENTS, dead_letter_topic
from shared.fhir.codes import HEART_RATE, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, identifier, quantity
from shared.fhir.messaging import build_message, parse_message
from tests.integration.orders.support import responses_to
from tests.support.backend_auth import suite_tokens
from tests.support.kafka_tools import publish, read_all, wait_for

pytestmark = pytest.mark.integration


def _patient_id(ehr, mrn: str = "KL-1001") -> str:
    return ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]


def _heart_rate(patient_id: str, reading_id: str) -> dict:
    return {"resourceType": "Observation", "identifier": [identifier("vitals", reading_id)], "status": "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}],
            "code": {"coding": [coding(HEART_RATE)]}, "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": "2026-11-27T10:00:00+00:00", "valueQuantity": quantity(72, "/min")}


def test_message_applied_once_even_when_delivered_twice(broker, ehr):
    patient_id = _patient_id(ehr)
    reading_id = str(uuid.uuid4())
    message = build_message("vitals-recorded", "urn:test", [_heart_rate(patient_id, reading_id)])
    message_id = message["entry"][0]["resource"]["id"]

    sentinel = build_message("vitals-recorded", "urn:test", [_heart_rate(patient_id, str(uuid.uuid4()))])
    publish(broker.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    publish(broker.bootstrap, INTAKE_EVENTS, message, key=patient_id)  # redelivery
    publish(broker.bootstrap, INTAKE_EVENTS, sentinel, key=patient_id)  # same key, same partition: read after both

    wait_for(lambda: responses_to(broker.bootstrap, EHR_RESPONSES, sentinel["entry"][0]["resource"]["id"]),
             what="the response to the message sent after the duplicate")
    responses = responses_to(broker.bootstrap, EHR_RESPONSES, message_id)
    assert [r.response_code.value for r in responses] == ["ok"]  # the duplicate was recognised: no second answer
    system = identifier("vitals", reading_id)["system"]
    stored = ehr.client.search("Observation", {"identifier": f"{system}|{reading_id}"})
    assert len(stored) == 1
    assert stored[0]["subject"]["reference"] == f"Patient/{patient_id}"
    provenance = ehr.client.read("Provenance", message["entry"][-1]["resource"]["id"])
    assert provenance["target"][0]["reference"] == f"Observation/{stored[0]['id']}"
    assert stored[0]["meta"]["versionId"] == "1"  # written once, not rewritten by the duplicate


def test_unparseable_record_goes_to_dead_letter_with_reason(broker, ehr):
    marker = uuid.uuid4().hex
    publish(broker.bootstrap, INTAKE_EVENTS, f"not json {marker}".encode(), key="x")

    def dead_lettered():
        return [r for r in read_all(broker.bootstrap, dead_letter_topic(INTAKE_EVENTS)) if marker.encode() in r.value]

    records = wait_for(dead_lettered, what="the dead-lettered record")
    headers = dict(records[0].headers)
    assert headers["dlq-reason"].startswith(b"not JSON")
    assert headers["dlq-source-topic"] == INTAKE_EVENTS.encode()


def test_message_the_store_refuses_gets_a_fatal_error_response(broker, ehr):
    patient_id = _patient_id(ehr)
    observation = _heart_rate(patient_id, str(uuid.uuid4()))
    observation.pop("identifier")  # without a Ketalink identifier it could not be applied once only
    message = build_message("vitals-recorded", "urn:test", [observation])
    message_id = message["entry"][0]["resource"]["id"]
    publish(broker.bootstrap, INTAKE_EVENTS, message, key=patient_id)

    responses = wait_for(lambda: responses_to(broker.bootstrap, EHR_RESPONSES, message_id), what="the EHR's response")
    assert responses[0].response_code.value == "fatal-error"
    outcome = responses[0].first("OperationOutcome")
    assert "identifier" in outcome["issue"][0]["diagnostics"]


class _CountingReads(FhirClient):
    """The real EHR client, counting the reads it sends."""

    reads = 0

    def read(self, resource_type: str, resource_id: str) -> dict:
        self.reads += 1
        return super().read(resource_type, resource_id)


def test_an_earlier_resource_found_in_the_store_is_read_once_and_one_not_there_every_time(ehr):
    fhir = _CountingReads(ehr.base_url, tokens=suite_tokens(ehr.base_url))
    references = StoreReferences(fhir)
    system = identifier("vitals", "x")["system"]
    stored_id, missing = str(uuid.uuid4()), str(uuid.uuid4())
    observation = _heart_rate(_patient_id(ehr), stored_id) | {"id": ehr_resource_id(system, stored_id)}
    ehr.client.update(observation)

    for _ in range(2):
        assert references.resolve("Observation", system, stored_id) == f"Observation/{observation['id']}"
    assert fhir.reads == 1  # the second message referring to it needs no read
    for _ in range(2):  # not in the store yet: retried later, and read again then
        with pytest.raises(TransientError, match="not in the store yet"):
            references.resolve("Observation", system, missing)
    assert fhir.reads == 3
    ehr.client.update(_heart_rate(_patient_id(ehr), missing) | {"id": ehr_resource_id(system, missing)})
    assert references.resolve("Observation", system, missing) == f"Observation/{ehr_resource_id(system, missing)}"
    assert fhir.reads == 4


def test_what_the_engine_wrote_in_a_committed_transaction_is_resolved_without_a_read(broker, ehr):
    fhir = _CountingReads(ehr.base_url, tokens=suite_tokens(ehr.base_url))
    references = StoreReferences(fhir)
    reading_id = str(uuid.uuid4())
    message = parse_message(build_message("vitals-recorded", "urn:test", [_heart_rate(_patient_id(ehr), reading_id)]))
    transaction = build_transaction(message, references.resolve)
    ehr.client.transaction(transaction)
    references.written(transaction)

    system = identifier("vitals", reading_id)["system"]
    assert references.resolve("Observation", system, reading_id) == f"Observation/{ehr_resource_id(system, reading_id)}"
    assert fhir.reads == 0
    assert ehr.client.read("Observation", ehr_resource_id(system, reading_id))["id"]  # it is there indeed
