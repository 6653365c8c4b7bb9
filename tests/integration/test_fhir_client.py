"""shared.fhir.client against the real FHIR server of the EHR sandbox (or HAPI FHIR, ``make test-hapi``):
conditional create, versioned update, OperationOutcome as typed errors, retries that end in FhirUnavailable when
nothing answers, and the start-up check of the services' needs against the server's CapabilityStatement. Nothing
here relies on one server's leniency or strictness beyond what FHIR R4 requires of every server."""
from __future__ import annotations

import logging
import uuid

import pytest

from deploy.local.ports import free_port
from services.documentation.ehr_reads import EHR_NEEDS as DOCUMENTATION_NEEDS
from services.intake.ehr_reads import EHR_NEEDS as INTAKE_NEEDS
from services.orders.course.ehr_reads import EHR_NEEDS as COURSE_NEEDS
from services.orders.ehr_reads import EHR_NEEDS as ORDERS_NEEDS
from shared.fhir.capabilities import PAGE_NEEDS, warn_about_missing_capabilities
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
    # A value its datatype's syntax refuses: every R4 server must refuse it (an unknown element, as this test sent
    # before, is refused by strict parsers only: HAPI FHIR ignores it and creates the Device).
    with pytest.raises(FhirInvalid) as refused:
        ehr.client.create_if_none_exist({"resourceType": "Device", "status": "active",
                                         "manufactureDate": "not a date"}, "identifier=x|y")
    assert refused.value.status in (400, 422)
    assert refused.value.outcome is not None and refused.value.outcome["resourceType"] == "OperationOutcome"
    assert refused.value.issues and all(refused.value.issues)
    with pytest.raises(FhirNotFound):
        ehr.client.read("Device", str(uuid.uuid4()))


@pytest.mark.parametrize(("service", "needs"), [
    ("intake", (*INTAKE_NEEDS, *PAGE_NEEDS)),
    ("orders", (*ORDERS_NEEDS, *COURSE_NEEDS, *PAGE_NEEDS)),
    ("documentation", (*DOCUMENTATION_NEEDS, *PAGE_NEEDS)),
])
def test_each_service_checks_its_needs_against_the_ehrs_capability_statement(ehr, service, needs, caplog):
    with caplog.at_level(logging.WARNING, logger="shared.fhir.capabilities"):
        gaps = warn_about_missing_capabilities(ehr.client, needs)
    assert gaps is not None, f"{service}: the EHR's CapabilityStatement was not read"
    assert [record.ehr_need for record in caplog.records] == gaps  # each gap is warned about, by name
    statement = ehr.client.capabilities()
    listed = {r["type"] for rest in statement["rest"] for r in rest.get("resource", [])}
    # What a dose and the pre-infusion check cannot do without is listed by any EHR these tests run against.
    assert not [gap for gap in gaps if gap.startswith(("Patient read", "Observation"))]
    # A type the statement does not list at all (the sandbox's SEKMET lists no RiskAssessment) is named.
    for resource_type in {need.resource_type for need in needs}:
        named = any(gap.startswith(f"{resource_type} is not listed") for gap in gaps)
        assert named == (resource_type not in listed), resource_type


def test_no_server_means_unavailable_after_the_retries():
    client = FhirClient(f"http://127.0.0.1:{free_port()}/fhir", timeout_s=0.5, retries=2, backoff_s=0.01)
    with pytest.raises(FhirUnavailable):
        client.read("Patient", "anything")
