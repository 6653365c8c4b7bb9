"""Scale results → survey Observations derived from their QuestionnaireResponse: PHQ-9 total (LOINC 44261-6),
MADRS total (local code) and the C-SSRS risk level (LOINC 93374-7, local code plus the LOINC answer). A total's
severity band goes in ``interpretation`` (local code, ``shared.fhir.instrument_codes.severity_interpretation``)."""
from __future__ import annotations

from datetime import datetime

from services.intake.domain.cssrs import CssrsScreen
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.translators.codes import (
    CSSRS_RISK_LOCAL,
    CSSRS_RISK_LOINC,
    OBSERVATION_KIND,
    QUESTIONNAIRE_RESPONSE_KIND,
)
from services.intake.translators.common import FhirJson
from services.intake.translators.observation_vitals_out import observation_identifier_value
from services.intake.translators.questionnaire_response_scales_out import (
    CSSRS_NAME,
    MADRS_NAME,
    PHQ9_NAME,
    questionnaire_response_identifier_value,
)
from shared.fhir.codes import CSSRS_RISK, MADRS_TOTAL, PHQ9_TOTAL, SURVEY_CATEGORY, Code
from shared.fhir.datatypes import codeable_concept, coding, identifier, instant, quantity, reference, \
    reference_by_identifier
from shared.fhir.instrument_codes import severity_interpretation
from shared.fhir.validate import validate_resource
from shared.scales import Scale


def phq9_total_observation(phq9: Phq9Response, patient_id: str, intake_id: str) -> FhirJson:
    resource = _survey("phq9-total", PHQ9_TOTAL, PHQ9_NAME, patient_id, intake_id, phq9.answered_at)
    resource["valueQuantity"] = quantity(phq9.total_score, "{score}")
    resource["interpretation"] = severity_interpretation(Scale.PHQ9, phq9.total_score)
    return validate_resource(resource)


def madrs_total_observation(madrs: MadrsRating, patient_id: str, intake_id: str) -> FhirJson:
    resource = _survey("madrs-total", MADRS_TOTAL, MADRS_NAME, patient_id, intake_id, madrs.rated_at)
    resource["valueQuantity"] = quantity(madrs.total_score, "{score}")
    resource["interpretation"] = severity_interpretation(Scale.MADRS, madrs.total_score)
    return validate_resource(resource)


def cssrs_risk_observation(cssrs: CssrsScreen, patient_id: str, intake_id: str) -> FhirJson:
    resource = _survey("cssrs-risk", CSSRS_RISK, CSSRS_NAME, patient_id, intake_id, cssrs.answered_at)
    codings = [coding(CSSRS_RISK_LOCAL[cssrs.risk])]
    if cssrs.risk in CSSRS_RISK_LOINC:
        codings.append(coding(CSSRS_RISK_LOINC[cssrs.risk]))
    resource["valueCodeableConcept"] = {"coding": codings, "text": CSSRS_RISK_LOCAL[cssrs.risk].display}
    return validate_resource(resource)


def _survey(measure: str, code: Code, questionnaire: str, patient_id: str, intake_id: str,
            effective: datetime) -> FhirJson:
    response_value = questionnaire_response_identifier_value(intake_id, questionnaire)
    return {
        "resourceType": "Observation",
        "identifier": [identifier(OBSERVATION_KIND, observation_identifier_value(intake_id, measure))],
        "status": "final",
        "category": [codeable_concept(SURVEY_CATEGORY)],
        "code": codeable_concept(code),
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(effective),
        "derivedFrom": [reference_by_identifier("QuestionnaireResponse", QUESTIONNAIRE_RESPONSE_KIND,
                                                response_value)],
    }
