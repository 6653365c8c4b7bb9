"""FHIR eligibility RiskAssessment → DecisionSummary (what the orders service reads from intake's message)."""
from __future__ import annotations

from services.intake.domain.decision import DecisionSummary
from services.intake.translators.codes import ELIGIBILITY_KIND, ELIGIBILITY_OUTCOMES, KETAMINE_ELIGIBILITY
from services.intake.translators.common import FhirJson, fhir_datetime, subject_patient_id, validated
from shared.errors import FhirMappingError
from shared.fhir.datatypes import find_identifier, has_coding
from shared.fhir.vital_signs import USABLE_STATUSES


def decision_summary_from_fhir(risk_assessment: FhirJson) -> DecisionSummary:
    validated(risk_assessment, "RiskAssessment")
    if not has_coding(risk_assessment.get("code"), KETAMINE_ELIGIBILITY):
        raise FhirMappingError("RiskAssessment.code", "not a ketamine eligibility assessment")
    if risk_assessment["status"] not in USABLE_STATUSES:
        raise FhirMappingError("RiskAssessment.status", f"status {risk_assessment['status']!r} is not a decision")
    intake_id = find_identifier(risk_assessment, ELIGIBILITY_KIND)
    if not intake_id:
        raise FhirMappingError("RiskAssessment.identifier", "no Ketalink eligibility identifier (intake id)")
    prediction = (risk_assessment.get("prediction") or [{}])[0]
    outcome = next(
        (o for o, code in ELIGIBILITY_OUTCOMES.items() if has_coding(prediction.get("outcome"), code)), None
    )
    if outcome is None:
        raise FhirMappingError("RiskAssessment.prediction[0].outcome", "no eligible / not-eligible / needs-review code")
    return DecisionSummary(
        intake_id=intake_id,
        patient_id=subject_patient_id(risk_assessment.get("subject"), "RiskAssessment.subject"),
        outcome=outcome,
        decided_at=fhir_datetime(risk_assessment.get("occurrenceDateTime"), "RiskAssessment.occurrenceDateTime"),
        rationale=prediction.get("rationale") or "",
    )
