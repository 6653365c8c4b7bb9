"""Focus resources of the ``intake-eligibility-decided`` message, in the contract's order: RiskAssessment, Consent,
then the baseline Observations, QuestionnaireResponses and Conditions the intake produced, then a Flag per
present contraindication. The glue wraps them in the Bundle with MessageHeader and Provenance.
"""
from __future__ import annotations

from services.intake.domain.conditions import trd_condition_record
from services.intake.domain.errors import IntakeStateError
from services.intake.domain.model import Intake, IntakeStatus
from services.intake.translators.codes import CONSENT_KIND, OBSERVATION_KIND, QUESTIONNAIRE_RESPONSE_KIND
from services.intake.translators.common import FhirJson
from services.intake.translators.condition_out import condition_to_fhir
from services.intake.translators.consent_out import consent_to_fhir
from services.intake.translators.flag_out import contraindication_flags
from services.intake.translators.observation_scores_out import (
    cssrs_risk_observation,
    madrs_total_observation,
    phq9_total_observation,
)
from services.intake.translators.observation_vitals_out import vital_sign_observations
from services.intake.translators.questionnaire_response_scales_out import (
    cssrs_questionnaire_response,
    madrs_questionnaire_response,
    phq9_questionnaire_response,
)
from services.intake.translators.questionnaire_response_screening_out import screening_questionnaire_response
from services.intake.translators.risk_assessment_out import eligibility_risk_assessment
from shared.fhir.datatypes import find_identifier, reference, reference_by_identifier


def intake_decision_resources(intake: Intake, patient_id: str) -> list[FhirJson]:
    """Raises IntakeStateError when the intake is not decided, ValueError when ``patient_id`` is not its patient."""
    if intake.status is not IntakeStatus.DECIDED or intake.decision is None:
        raise IntakeStateError("the intake has no eligibility decision to send")
    if patient_id != intake.patient_id:
        raise ValueError("patient_id does not match the intake's patient")
    consent = consent_to_fhir(intake.consent, patient_id, intake.intake_id)
    observations = vital_sign_observations(intake.vitals, patient_id, intake.intake_id)
    responses = []
    screening = screening_questionnaire_response(intake, patient_id)
    if screening is not None:
        responses.append(screening)
    if intake.phq9 is not None:
        responses.append(phq9_questionnaire_response(intake.phq9, patient_id, intake.intake_id))
        observations.append(phq9_total_observation(intake.phq9, patient_id, intake.intake_id))
    if intake.madrs is not None:
        responses.append(madrs_questionnaire_response(intake.madrs, patient_id, intake.intake_id))
        observations.append(madrs_total_observation(intake.madrs, patient_id, intake.intake_id))
    if intake.cssrs is not None:
        responses.append(cssrs_questionnaire_response(intake.cssrs, patient_id, intake.intake_id))
        observations.append(cssrs_risk_observation(intake.cssrs, patient_id, intake.intake_id))
    conditions = []
    if intake.decision.trd is not None and intake.decision.trd.meets_trd:
        trd = trd_condition_record(intake.decision.decided_at.date())
        conditions.append(condition_to_fhir(trd, patient_id, intake.intake_id))
    basis = [reference_by_identifier("Consent", CONSENT_KIND, intake.intake_id)]
    basis += [_by_identifier(r, "QuestionnaireResponse", QUESTIONNAIRE_RESPONSE_KIND) for r in responses]
    basis += [_by_identifier(o, "Observation", OBSERVATION_KIND) for o in observations]
    basis += _ehr_readings(intake)
    risk_assessment = eligibility_risk_assessment(intake, patient_id, basis)
    flags = contraindication_flags(intake, patient_id)
    return [risk_assessment, consent, *observations, *responses, *conditions, *flags]


def _by_identifier(resource: FhirJson, resource_type: str, kind: str) -> FhirJson:
    ident = resource["identifier"]
    value = ident["value"] if isinstance(ident, dict) else find_identifier(resource, kind)
    return reference_by_identifier(resource_type, kind, value)


def _ehr_readings(intake: Intake) -> list[FhirJson]:
    """Literal references to readings that came from the EHR (not re-sent, but part of the basis)."""
    vitals = intake.vitals
    readings = [vitals.blood_pressure, vitals.heart_rate_per_min, vitals.spo2_pct, vitals.respiratory_rate_per_min,
                vitals.weight_kg, vitals.height_cm]
    return [reference("Observation", r.ehr_observation_id) for r in readings if r and r.ehr_observation_id]
