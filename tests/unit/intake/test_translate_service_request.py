import copy
from datetime import datetime, timezone

import pytest

from services.intake.domain.patient import Referral, ReferralSource
from shared.errors import FhirMappingError
from services.intake.translators.service_request_in import referral_from_fhir
from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.messaging import MessageError, build_message, parse_message
from shared.fhir.validate import FhirValidationError

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


# --- a referral taken from an inbound message is not validated a second time (issue 19) ---------------------------
# ``parse_message`` validates the message Bundle whole; the handler then reads its ServiceRequest with
# ``checked_in_message=True``. That is safe only if the Bundle's check refuses exactly what the ServiceRequest's own
# check refuses: these defects (an unknown element, a wrong JSON type, a coerced value, a null, a missing required
# element, a malformed date) are each refused by both, naming the same element.
STRUCTURE_DEFECTS = [
    ("bogus", lambda sr: sr.update(bogus=1)),
    ("status", lambda sr: sr.update(status=5)),
    ("authoredOn", lambda sr: sr.update(authoredOn=20260220)),
    ("priority", lambda sr: sr.update(priority=None)),
    ("subject.reference", lambda sr: sr["subject"].update(reference=7)),
    ("intent", lambda sr: sr.pop("intent")),
    ("occurrenceDateTime", lambda sr: sr.update(occurrenceDateTime="2026-13-45")),
    ("code.coding[0].code", lambda sr: sr["code"]["coding"][0].update(code=["ketamine-evaluation"])),
    ("requester", lambda sr: sr.update(requester="Practitioner/pr-1")),
]


@pytest.mark.parametrize("element, defect", STRUCTURE_DEFECTS, ids=[e for e, _ in STRUCTURE_DEFECTS])
def test_a_message_carrying_a_malformed_referral_is_refused_as_the_referral_alone_is(element, defect):
    message = build_message("referral-requested", "urn:ehr", [copy.deepcopy(REFERRAL)], with_provenance=False)
    request = message["entry"][1]["resource"]
    defect(request)  # after building: build_message refuses to build a message with a malformed resource
    with pytest.raises(FhirValidationError) as alone:
        referral_from_fhir(request)
    with pytest.raises(MessageError) as in_message:
        parse_message(message)
    assert any(where == f"ServiceRequest.{element}" for where, _ in alone.value.issues), alone.value.issues
    assert f"Bundle.entry[1].resource.{element}:" in str(in_message.value)


def test_a_referral_from_a_checked_message_reads_as_the_referral_alone():
    message = parse_message(build_message("referral-requested", "urn:ehr", [REFERRAL], with_provenance=False))
    assert referral_from_fhir(message.first("ServiceRequest"), checked_in_message=True) == referral_from_fhir(REFERRAL)


def test_the_referral_rules_still_apply_to_one_from_a_checked_message():
    other = {**REFERRAL, "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]}}
    with pytest.raises(FhirMappingError) as error:
        referral_from_fhir(other, checked_in_message=True)
    assert error.value.field == "ServiceRequest.code"
