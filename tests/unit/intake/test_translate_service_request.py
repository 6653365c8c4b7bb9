from datetime import datetime, timezone

import pytest

from services.intake.domain.patient import Referral, ReferralSource
from shared.errors import FhirMappingError
from services.intake.translators.service_request_in import referral_from_fhir
from shared.fhir.codes import KETALINK_LOCAL

REFERRAL = {
    "resourceType": "ServiceRequest",
    "id": "sr-77",
    "status": "active",
    "intent": "order",
    "code": {"coding": [{"system": KETALINK_LOCAL, "code": "ketamine-evaluation"}]},
    "subject": {"reference": "Patient/pat-123"},
    "authoredOn": "2026-02-20T14:05:00-05:00",
    "requester": {"reference": "Practitioner/pr-1", "display": "Dr Referrer"},
    "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "370143000",
                                "display": "Major depressive disorder"}]}],
}


def test_referral_is_read_with_its_ehr_id_and_status():
    assert referral_from_fhir(REFERRAL) == Referral(
        patient_id="pat-123",
        source=ReferralSource.EHR,
        requested_at=datetime(2026, 2, 20, 19, 5, tzinfo=timezone.utc),
        requester_display="Dr Referrer",
        reason_text="Major depressive disorder",
        ehr_service_request_id="sr-77",
        ehr_status="active",
    )


def test_a_service_request_for_something_else_is_refused():
    other = {**REFERRAL, "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]}}
    with pytest.raises(FhirMappingError) as error:
        referral_from_fhir(other)
    assert error.value.field == "ServiceRequest.code"


@pytest.mark.parametrize("change, field", [
    ({"subject": {"reference": "Group/g-1"}}, "ServiceRequest.subject"),
    ({"authoredOn": None}, "ServiceRequest.authoredOn"),
])
def test_missing_subject_or_time_is_named(change, field):
    request = {**REFERRAL, **change}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(FhirMappingError) as error:
        referral_from_fhir(request)
    assert error.value.field == field
