"""The eligibility decision → FHIR RiskAssessment exactly as docs/contracts.md describes it."""
from __future__ import annotations

from services.intake.domain.errors import IntakeStateError
from services.intake.domain.model import Intake
from services.intake.translators.codes import ELIGIBILITY_KIND, ELIGIBILITY_OUTCOMES, KETAMINE_ELIGIBILITY
from services.intake.translators.common import FhirJson
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference
from shared.fhir.validate import validate_resource


def eligibility_risk_assessment(intake: Intake, patient_id: str, basis: list[FhirJson] | None = None) -> FhirJson:
    """``basis``: references to the Consent and screening resources (message_out builds them)."""
    decision = intake.decision
    if decision is None:
        raise IntakeStateError("the intake has no eligibility decision yet")
    resource: FhirJson = {
        "resourceType": "RiskAssessment",
        "identifier": [identifier(ELIGIBILITY_KIND, intake.intake_id)],
        "status": "final",
        "subject": reference("Patient", patient_id),
        "code": codeable_concept(KETAMINE_ELIGIBILITY),
        "occurrenceDateTime": instant(decision.decided_at),
        "prediction": [{
            "outcome": codeable_concept(ELIGIBILITY_OUTCOMES[decision.outcome]),
            "rationale": decision.rationale,
        }],
    }
    if basis:
        resource["basis"] = basis
    return validate_resource(resource)
