"""The intake's eligibility RiskAssessment (``intake-eligibility-decided``) → EligibilityDecision without consent
(``consent_on_file`` False until the Consent is read: see eligibility_in); the withdrawn one (``intake-reopened``,
``status: cancelled``) → EligibilityWithdrawal."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.fhir.codes import KETALINK_LOCAL
from shared.fhir.datatypes import find_identifier, has_coding
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, validated
from shared.fhir.vital_signs import USABLE_STATUSES
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.translators.codes import KETAMINE_ELIGIBILITY, KIND_ELIGIBILITY


def eligibility_from_risk_assessment(risk_assessment: dict[str, Any]) -> EligibilityDecision:
    """Patient id (subject), intake id (identifier kind eligibility), outcome code and decided-at
    (occurrenceDateTime). Raises FhirMappingError for anything missing or not the contract's."""
    resource = validated(risk_assessment, "RiskAssessment")
    if not has_coding(resource.get("code"), KETAMINE_ELIGIBILITY):
        raise FhirMappingError("RiskAssessment.code", "expected ketalink-local#ketamine-eligibility")
    if resource.get("status") not in USABLE_STATUSES:
        raise FhirMappingError("RiskAssessment.status", f"a {resource.get('status')!r} assessment cannot be used")
    intake_id = find_identifier(resource, KIND_ELIGIBILITY)
    if not intake_id:
        raise FhirMappingError("RiskAssessment.identifier", "the Ketalink eligibility identifier is missing")
    return EligibilityDecision(
        patient_id=patient_id_of(resource.get("subject"), "RiskAssessment.subject"),
        intake_id=intake_id,
        status=_outcome(resource),
        consent_on_file=False,
        decided_at=moment(resource.get("occurrenceDateTime"), "RiskAssessment.occurrenceDateTime"),
    )


def _outcome(resource: dict[str, Any]) -> EligibilityStatus:
    path = "RiskAssessment.prediction[0].outcome"
    predictions = resource.get("prediction") or []
    codings = ((predictions[0].get("outcome") or {}).get("coding") or []) if predictions else []
    for coding in codings:
        if coding.get("system") == KETALINK_LOCAL:
            try:
                return EligibilityStatus(coding.get("code"))
            except ValueError:
                raise FhirMappingError(path, f"unknown eligibility outcome {coding.get('code')!r}") from None
    raise FhirMappingError(path, "a ketalink-local eligible | not-eligible | needs-review outcome is required")


@dataclass(frozen=True)
class EligibilityWithdrawal:
    """An ``intake-reopened`` message read: the intake whose decision is withdrawn, and when."""

    patient_id: str
    intake_id: str
    withdrawn_at: datetime


def withdrawal_from_risk_assessment(risk_assessment: dict[str, Any]) -> EligibilityWithdrawal:
    """The intake's withdrawn eligibility RiskAssessment (``status: cancelled``; ``note[0].time`` = when the intake
    was reopened) → who and when. Raises FhirMappingError for anything missing or not the contract's."""
    resource = validated(risk_assessment, "RiskAssessment")
    if not has_coding(resource.get("code"), KETAMINE_ELIGIBILITY):
        raise FhirMappingError("RiskAssessment.code", "expected ketalink-local#ketamine-eligibility")
    if resource.get("status") != "cancelled":
        raise FhirMappingError("RiskAssessment.status", f"a withdrawn decision is 'cancelled', not "
                                                        f"{resource.get('status')!r}")
    intake_id = find_identifier(resource, KIND_ELIGIBILITY)
    if not intake_id:
        raise FhirMappingError("RiskAssessment.identifier", "the Ketalink eligibility identifier is missing")
    notes = resource.get("note") or []
    return EligibilityWithdrawal(
        patient_id=patient_id_of(resource.get("subject"), "RiskAssessment.subject"),
        intake_id=intake_id,
        withdrawn_at=moment(notes[0].get("time") if notes and isinstance(notes[0], dict) else None,
                            "RiskAssessment.note[0].time"),
    )
