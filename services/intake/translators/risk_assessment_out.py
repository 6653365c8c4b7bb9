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


def withdrawn_risk_assessment(intake: Intake, patient_id: str) -> FhirJson:
    """The set-aside decision of a reopened intake as its RiskAssessment with ``status: cancelled`` (same identifier,
    so the EHR's copy is replaced): the decision no longer stands and nobody may order on it until a new decision.

    ``cancelled`` rather than ``entered-in-error``: the decision was right when it was made and is withdrawn, not
    wrong. ``occurrenceDateTime`` stays when the assessment was made; ``note[0]`` says who withdrew it, when
    (``note[0].time``, which orders reads) and why (docs/contracts.md, ``intake-reopened``)."""
    if not intake.reopenings:
        raise IntakeStateError("the intake was never reopened")
    reopening = intake.reopenings[-1]
    withdrawn = reopening.previous_decision
    resource: FhirJson = {
        "resourceType": "RiskAssessment",
        "identifier": [identifier(ELIGIBILITY_KIND, intake.intake_id)],
        "status": "cancelled",
        "subject": reference("Patient", patient_id),
        "code": codeable_concept(KETAMINE_ELIGIBILITY),
        "occurrenceDateTime": instant(withdrawn.decided_at),
        "prediction": [{
            "outcome": codeable_concept(ELIGIBILITY_OUTCOMES[withdrawn.outcome]),
            "rationale": withdrawn.rationale,
        }],
        "note": [{
            **({"authorReference": reopening.reopened_by.fhir_reference()} if reopening.reopened_by.reference
               else {"authorString": reopening.reopened_by.display}),
            "time": instant(reopening.reopened_at),
            "text": f"Decision withdrawn: the intake was reopened ({reopening.reason}). No ketamine may be ordered "
                    "or signed on it until a new eligibility decision.",
        }],
    }
    return validate_resource(resource)
