"""A psychotherapy or integration referral → ServiceRequest: ``code`` the kind of referral, ``status`` active /
completed / revoked, ``intent: order``, ``basedOn`` the course CarePlan, ``requester`` and ``performer`` by display
(the EHR resolves people), ``quantityQuantity`` the sessions requested, ``reasonCode.text`` the reason."""
from __future__ import annotations

from services.orders.course.domain.therapy import TherapyReferral
from services.orders.course.translators.codes import KIND_REFERRAL, REFERRAL_CODES
from services.orders.course.translators.common import FhirJson, course_reference
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference
from shared.fhir.validate import validate_resource


def service_request_from_referral(referral: TherapyReferral, patient_id: str, course_id: str) -> FhirJson:
    resource: FhirJson = {
        "resourceType": "ServiceRequest",
        "identifier": [identifier(KIND_REFERRAL, referral.referral_id)],
        "basedOn": [course_reference(course_id)],
        "status": referral.status.value,
        "intent": "order",
        "code": codeable_concept(REFERRAL_CODES[referral.kind]),
        "subject": reference("Patient", patient_id),
        "authoredOn": instant(referral.referred_at),
        "requester": referral.referred_by.fhir_reference(),
        "reasonCode": [{"text": referral.reason}],
    }
    if referral.performer:
        resource["performer"] = [{"display": referral.performer}]
    if referral.sessions_requested is not None:
        resource["quantityQuantity"] = {"value": referral.sessions_requested}
    return validate_resource(resource)
