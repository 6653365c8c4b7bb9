"""People by reference against the real sandbox and broker: the demo clinicians are Practitioners from the start, a
backend client's ``on_behalf_of`` is checked against the EHR, and a message's author and Ketalink (the Device) land
in the EHR as resolved references."""
from __future__ import annotations

import uuid

import pytest
from flask import Flask

from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_SYSTEM, seed_clinicians
from shared.events.topics import EHR_RESPONSES, INTAKE_EVENTS
from shared.fhir.codes import HEART_RATE, OBSERVATION_CATEGORY
from shared.fhir.datatypes import coding, identifier, quantity
from shared.fhir.messaging import build_message
from shared.people import Person
from shared.roles import acting_person
from shared.smart import SmartAuthError, SmartContext
from tests.integration.orders.support import responses_to
from tests.support.kafka_tools import publish, wait_for

pytestmark = pytest.mark.integration


def _practitioner(ehr, username: str) -> dict:
    found = ehr.client.search("Practitioner", {"identifier": f"{SEED_SYSTEM}|smart-user-{username}"})
    assert len(found) == 1, f"{username} is not one Practitioner in the sandbox"
    return found[0]


def test_the_demo_clinicians_are_practitioners_with_roles_from_the_start(ehr):
    ids = {username: _practitioner(ehr, username)["id"] for username in ("nurse.ng", "dr.okoye", "ops.kim")}
    assert seed_clinicians(ehr.client) == ids  # seeding again finds the same ones: nothing is created twice
    for username, practitioner_id in ids.items():
        roles = ehr.client.search("PractitionerRole", {"practitioner": f"Practitioner/{practitioner_id}"})
        assert roles and roles[0]["code"], f"{username} has no PractitionerRole"
    assert _practitioner(ehr, "dr.okoye")["name"][0]["text"] == "Dr. Adaeze Okoye"


def test_a_backend_client_acts_only_for_a_practitioner_the_ehr_has(ehr):
    backend = SmartContext(source="bearer", iss=ehr.base_url, access_token="system-token", scopes=("system/*.rs",),
                           patient=None, encounter=None, fhir_user=None)
    doctor = _practitioner(ehr, "dr.okoye")["id"]
    with Flask(__name__).test_request_context():
        acting = acting_person(backend, "Dr. Somebody Else", on_behalf_of=f"Practitioner/{doctor}", ehr=ehr.client)
        assert acting == Person(f"Practitioner/{doctor}", "Dr. Adaeze Okoye")
        with pytest.raises(SmartAuthError) as unknown:
            acting_person(backend, "Dr. X", on_behalf_of=f"Practitioner/{uuid.uuid4()}", ehr=ehr.client)
        assert unknown.value.status == 422


def test_the_author_and_ketalink_are_references_in_the_ehr(broker, ehr):
    patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1001"})[0]["id"]
    nurse = _practitioner(ehr, "nurse.ng")["id"]
    reading_id = str(uuid.uuid4())
    observation = {"resourceType": "Observation", "identifier": [identifier("vitals", reading_id)],
                   "status": "final", "category": [{"coding": [{"system": OBSERVATION_CATEGORY,
                                                                "code": "vital-signs"}]}],
                   "code": {"coding": [coding(HEART_RATE)]}, "subject": {"reference": f"Patient/{patient_id}"},
                   "effectiveDateTime": "2026-11-27T10:00:00+00:00", "valueQuantity": quantity(72, "/min"),
                   "performer": [Person(f"Practitioner/{nurse}", "Grace Ng, RN").fhir_reference()]}
    message = build_message("vitals-recorded", "urn:ketalink:documentation", [observation],
                            author=Person(f"Practitioner/{nurse}", "Grace Ng, RN"))
    message_id = message["entry"][0]["resource"]["id"]
    publish(broker.bootstrap, INTAKE_EVENTS, message, key=patient_id)
    responses = wait_for(lambda: responses_to(broker.bootstrap, EHR_RESPONSES, message_id), what="the EHR's response")
    assert responses[0].response_code.value == "ok"

    provenance = ehr.client.read("Provenance", message["entry"][-1]["resource"]["id"])
    who = {agent["type"]["coding"][0]["code"]: agent["who"] for agent in provenance["agent"]}
    assert who["author"]["reference"] == f"Practitioner/{nurse}"
    device_type, _, device_id = who["assembler"]["reference"].partition("/")
    assert device_type == "Device"  # the message's urn:uuid resolved to the EHR's Device
    device = ehr.client.read("Device", device_id)
    assert device["identifier"][0]["value"] == "ketalink"
    system = identifier("vitals", reading_id)["system"]
    stored = ehr.client.search("Observation", {"identifier": f"{system}|{reading_id}"})[0]
    assert stored["performer"][0]["reference"] == f"Practitioner/{nurse}"
