"""FHIR ServiceRequest (the EHR's referral for a ketamine evaluation) → Referral."""
from __future__ import annotations

from services.intake.domain.patient import Referral, ReferralSource
from services.intake.translators.codes import KETAMINE_EVALUATION_REFERRAL
from services.intake.translators.common import FhirJson, fhir_datetime, subject_patient_id, validated
from shared.errors import FhirMappingError
from shared.fhir.datatypes import has_coding


def referral_from_fhir(service_request: FhirJson, *, checked_in_message: bool = False) -> Referral:
    """Only a ServiceRequest coded ``ketalink#ketamine-evaluation`` is a referral; its status is kept as given so
    the caller can ignore a revoked or entered-in-error request.

    ``checked_in_message``: the ServiceRequest is an entry of an inbound message Bundle that ``parse_message``
    validated whole (every entry's resource with its own model, nulls and coerced values refused), so its structure
    is not checked a second time; a ServiceRequest read from the EHR's API is checked here."""
    if not checked_in_message:
        validated(service_request, "ServiceRequest")
    if not has_coding(service_request.get("code"), KETAMINE_EVALUATION_REFERRAL):
        raise FhirMappingError(
            "ServiceRequest.code",
            f"not a ketamine evaluation referral (expected {KETAMINE_EVALUATION_REFERRAL.system}|"
            f"{KETAMINE_EVALUATION_REFERRAL.code})",
        )
    reason = (service_request.get("reasonCode") or [{}])[0]
    reason_text = reason.get("text") or next((c.get("display") for c in reason.get("coding", []) if c.get("display")),
                                             None)
    return Referral(
        patient_id=subject_patient_id(service_request.get("subject"), "ServiceRequest.subject"),
        source=ReferralSource.EHR,
        requested_at=fhir_datetime(service_request.get("authoredOn"), "ServiceRequest.authoredOn"),
        requester_display=(service_request.get("requester") or {}).get("display"),
        reason_text=reason_text,
        ehr_service_request_id=service_request.get("id"),
        ehr_status=service_request["status"],
    )
