"""ServiceRequest (as ``service_request_referral_out`` writes it, or the EHR updating its status) → the referral
with the course it belongs to."""
from __future__ import annotations

from dataclasses import dataclass

from services.orders.course.domain.therapy import ReferralStatus, TherapyReferral
from services.orders.course.translators.codes import KIND_COURSE, KIND_REFERRAL, REFERRAL_CODES
from services.orders.course.translators.common import FhirJson, enum_value, required_coded
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.datatypes import find_identifier
from shared.people import Person


@dataclass(frozen=True)
class ReceivedReferral:
    patient_id: str
    course_id: str
    referral: TherapyReferral


def referral_from_service_request(resource: FhirJson) -> ReceivedReferral:
    resource = validated(resource, "ServiceRequest")
    referral_id = find_identifier(resource, KIND_REFERRAL)
    if not referral_id:
        raise FhirMappingError("ServiceRequest.identifier", "the Ketalink referral identifier is missing")
    course_id = referenced_identifier(resource.get("basedOn"), KIND_COURSE)
    if not course_id:
        raise FhirMappingError("ServiceRequest.basedOn", "the course CarePlan is required")
    requester = Person.from_fhir(resource.get("requester"))
    if requester is None:
        raise FhirMappingError("ServiceRequest.requester", "who referred is required")
    reason = next((r.get("text") for r in resource.get("reasonCode") or [] if r.get("text")), None)
    if not reason:
        raise FhirMappingError("ServiceRequest.reasonCode", "the reason (text) is required")
    performer = next((p.get("display") for p in resource.get("performer") or [] if p.get("display")), None)
    sessions = (resource.get("quantityQuantity") or {}).get("value")
    if sessions is not None and (float(sessions) != int(sessions) or sessions < 1):
        raise FhirMappingError("ServiceRequest.quantityQuantity.value", "sessions requested is a whole number >= 1")
    referral = TherapyReferral(
        referral_id=referral_id,
        kind=required_coded(resource.get("code"), REFERRAL_CODES, "ServiceRequest.code"),
        referred_at=moment(resource.get("authoredOn"), "ServiceRequest.authoredOn"),
        referred_by=requester,
        reason=reason,
        status=enum_value(ReferralStatus, resource.get("status"), "ServiceRequest.status"),
        performer=performer,
        sessions_requested=None if sessions is None else int(sessions),
    )
    return ReceivedReferral(patient_id_of(resource.get("subject"), "ServiceRequest.subject"), course_id, referral)
