"""shared.fhir.client against the real FHIR server of the EHR sandbox: conditional create, versioned update,
OperationOutcome as typed errors, and retries that end in FhirUnavailable when nothing answers."""
from __future__ import annotations

import uuid

import pytest

from deploy.local.ports import free_port
from shared.fhir.client import FhirClient, FhirInvalid, FhirNotFound, FhirPreconditionFailed, FhirUnavailable

pytestmark = pytest.mark.integration
SYSTEM = "https://ketalink.example.org/fhir/identifier/client-test"


def _device(value: str) -> dict:
    return {"resourceType": "Device", "identifier": [{"system": SYSTEM, "value": value}], "status": "active"}


def test_conditional_create_makes_one_resource(ehr):
    value = str(uuid.uuid4())
    first, created = ehr.client.create_if_none_exist(_device(value), f"identifier={SYSTEM}|{value}")
    again, created_again = ehr.client.create_if_none_exist(_device(value), f"identifier={SYSTEM}|{value}")
    assert (created, created_again) == (True, False)
    assert again["id"] == first["id"]
    assert len(ehr.client.search("Device", {"identifier": f"{SYSTEM}|{value}"})) == 1


def test_update_with_a_stale_version_is_refused(ehr):
    value = str(uuid.uuid4())
    device, _ = ehr.client.create_if_none_exist(_device(value), f"identifier={SYSTEM}|{value}")
    updated = ehr.client.update({**device, "status": "inactive"}, version_id=device["meta"]["versionId"])
    assert updated["meta"]["versionId"] == "2"
    with pytest.raises(FhirPreconditionFailed):
        ehr.client.update({**device, "status": "entered-in-error"}, version_id="1")


def test_server_errors_become_typed_errors_with_the_outcome(ehr):
    with pytest.raises(FhirInvalid) as refused:
        ehr.client.create_if_none_exist({"resourceType": "Device", "colour": "red"}, "identifier=x|y")
    assert refused.value.status == 400 and any("colour" in issue for issue in refused.value.issues)
    with pytest.raises(FhirNotFound):
        ehr.client.read("Device", str(uuid.uuid4()))


def test_no_server_means_unavailable_after_the_retries():
    client = FhirClient(f"http://127.0.0.1:{free_port()}/fhir", timeout_s=0.5, retries=2, backoff_s=0.01)
    with pytest.raises(FhirUnavailable):
        client.read("Patient", "anything")
