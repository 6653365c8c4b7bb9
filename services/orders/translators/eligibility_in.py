"""The focus resources of an ``intake-eligibility-decided`` message → the EligibilityDecision orders acts on:
the RiskAssessment's decision, with consent on file when an active Consent for the same intake and patient is
among them."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.errors import FhirMappingError
from services.orders.domain.eligibility import EligibilityDecision
from services.orders.translators.consent_in import consent_from_resource
from services.orders.translators.risk_assessment_in import eligibility_from_risk_assessment


def eligibility_from_resources(resources: list[dict[str, Any]]) -> EligibilityDecision:
    """Exactly one RiskAssessment is required; other resource types (Observations, QuestionnaireResponses …)
    are ignored here."""
    assessments = [r for r in resources if r.get("resourceType") == "RiskAssessment"]
    if len(assessments) != 1:
        raise FhirMappingError("Bundle.entry", f"expected one RiskAssessment, found {len(assessments)}")
    decision = eligibility_from_risk_assessment(assessments[0])
    consents = [consent_from_resource(r) for r in resources if r.get("resourceType") == "Consent"]
    consent_on_file = any(c.given and c.intake_id == decision.intake_id and c.patient_id == decision.patient_id
                          for c in consents)
    return replace(decision, consent_on_file=consent_on_file)
