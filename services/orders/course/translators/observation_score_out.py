"""A score or C-SSRS screener → survey Observation (FHIR.md: category ``survey``, ``derivedFrom`` the
QuestionnaireResponse).

- Score: ``code`` = the scale's total (PHQ-9 44261-6, GAD-7 70274-6, local MADRS and QIDS-SR16), ``valueQuantity``
  the total in ``{score}``, and one ``component`` per item (item code, ``valueInteger``) so a reader can score it
  again; ``interpretation`` the total's severity band (PHQ-9, GAD-7, MADRS; ``shared.scales.SEVERITY_BANDS``) as a
  local code with the band in words (not HL7's H/L interpretation codes, which are for reference ranges).
  C-SSRS: ``code`` 93374-7 (screener risk), ``valueCodeableConcept`` the local risk code, one component per answered
  item (LOINC item, ``valueBoolean``).
- ``category``: survey, then the context (baseline, pre-infusion, follow-up); ``method``: who answered through which
  channel; ``performer``: who recorded it (display), else the patient for a questionnaire they answered.
- ``derivedFrom``: Ketalink's QuestionnaireResponse (the course's, or the intake's for its baseline) by identifier,
  or the EHR's by its id; ``basedOn`` the course
  CarePlan; ``encounter`` the infusion visit of a pre-infusion score. ``status`` ``amended`` once rescored."""
from __future__ import annotations

from datetime import datetime

from services.orders.course.domain.measurements import CssrsScreening, ScaleScore, ScoreContext, ScoreSource
from services.orders.course.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_RISK_CODES,
    KIND_INTAKE_QUESTIONNAIRE_RESPONSE,
    KIND_QUESTIONNAIRE_RESPONSE,
    KIND_SCORE,
    SCALE_ITEMS,
    SCALE_TOTALS,
    SCORE_CONTEXT_CODES,
    SCORE_SOURCE_CODES,
    SCORE_UNIT,
)
from services.orders.course.translators.common import FhirJson, course_reference, session_encounter
from shared.fhir.codes import CSSRS_RISK, SURVEY_CATEGORY, Code
from shared.fhir.datatypes import codeable_concept, identifier, instant, quantity, reference, reference_by_identifier
from shared.fhir.instrument_codes import severity_interpretation
from shared.fhir.validate import validate_resource
from shared.people import Person


def observation_from_score(score: ScaleScore, patient_id: str, course_id: str) -> FhirJson:
    resource = _survey(SCALE_TOTALS[score.scale], score.measurement_id, score.measured_at, score.source,
                       score.context, score.recorded_by, score.session_id, score.ehr_questionnaire_response_id,
                       score.rescored, patient_id, course_id)
    resource["valueQuantity"] = quantity(score.total_score, SCORE_UNIT)
    interpretation = severity_interpretation(score.scale, score.total_score)
    if interpretation:
        resource["interpretation"] = interpretation
    resource["component"] = [{"code": codeable_concept(code), "valueInteger": value}
                             for code, value in zip(SCALE_ITEMS[score.scale], score.item_scores)]
    return validate_resource(resource)


def observation_from_cssrs(screening: CssrsScreening, patient_id: str, course_id: str) -> FhirJson:
    resource = _survey(CSSRS_RISK, screening.measurement_id, screening.measured_at, screening.source,
                       screening.context, screening.recorded_by, screening.session_id,
                       screening.ehr_questionnaire_response_id, screening.rescored, patient_id, course_id)
    risk = CSSRS_RISK_CODES[screening.risk]
    resource["valueCodeableConcept"] = codeable_concept(risk, risk.display)
    resource["component"] = [{"code": codeable_concept(CSSRS_ITEMS[a.item]), "valueBoolean": a.answer}
                             for a in screening.answers]
    return validate_resource(resource)


def _survey(code: Code, measurement_id: str, measured_at: datetime, source: ScoreSource, context: ScoreContext,
            recorded_by: Person | None, session_id: str | None, ehr_response_id: str | None, rescored: bool,
            patient_id: str, course_id: str) -> FhirJson:
    if ehr_response_id:
        derived_from = reference("QuestionnaireResponse", ehr_response_id)
    else:
        kind = KIND_INTAKE_QUESTIONNAIRE_RESPONSE if source is ScoreSource.INTAKE else KIND_QUESTIONNAIRE_RESPONSE
        derived_from = reference_by_identifier("QuestionnaireResponse", kind, measurement_id)
    resource: FhirJson = {
        "resourceType": "Observation",
        "identifier": [identifier(KIND_SCORE, measurement_id)],
        "basedOn": [course_reference(course_id)],
        "status": "amended" if rescored else "final",
        "category": [codeable_concept(SURVEY_CATEGORY), codeable_concept(SCORE_CONTEXT_CODES[context])],
        "code": codeable_concept(code),
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(measured_at),
        "method": codeable_concept(SCORE_SOURCE_CODES[source]),
        "derivedFrom": [derived_from],
    }
    if recorded_by:
        resource["performer"] = [recorded_by.fhir_reference()]
    elif source is not ScoreSource.CLINICIAN:
        resource["performer"] = [reference("Patient", patient_id)]
    if session_id:
        resource["encounter"] = session_encounter(session_id)
    return resource
