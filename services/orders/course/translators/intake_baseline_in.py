"""``intake-eligibility-decided`` focus → the intake's baseline scales for the course: the PHQ-9, MADRS and C-SSRS
QuestionnaireResponses the intake sends with its decision (``intake-questionnaire-response``), read by the course's
QuestionnaireResponse reader (source ``intake``, context baseline, keyed by the intake's identifier value so the
course's Observation is ``derivedFrom`` it).

The decision itself is the orders service's (it reads the RiskAssessment in full and dead-letters a message it
cannot read, before the course's handler runs); the course takes from it only whose intake the baseline is and
when it was decided (``intake_decision``).

A response that is not a scale the course scores (the intake's screening questionnaire) is skipped; one that cannot
be read is skipped too and named in ``unreadable``: a bad baseline must not lose the eligibility decision that came
with it, and the course then says "no baseline" with the reason."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.orders.course.domain.measurements import CssrsScreening, ScaleScore
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.translators.codes import KIND_INTAKE_ELIGIBILITY
from services.orders.course.translators.common import FhirJson
from services.orders.course.translators.questionnaire_response_in import (
    CSSRS,
    cssrs_from_questionnaire_response,
    questionnaire_instrument,
    score_from_questionnaire_response,
)
from shared.errors import FhirMappingError
from shared.fhir.datatypes import find_identifier
from shared.fhir.reading import moment, patient_id_of, the_only


@dataclass(frozen=True)
class IntakeDecision:
    """Whose intake decided, which intake, and when: what the course keeps its baseline under."""

    patient_id: str
    intake_id: str
    decided_at: datetime


def intake_decision(resources: list[FhirJson]) -> IntakeDecision:
    resource = the_only(resources, "RiskAssessment")
    intake_id = find_identifier(resource, KIND_INTAKE_ELIGIBILITY)
    if not intake_id:
        raise FhirMappingError("RiskAssessment.identifier", "the Ketalink eligibility identifier is missing")
    return IntakeDecision(patient_id_of(resource.get("subject"), "RiskAssessment.subject"), intake_id,
                          moment(resource.get("occurrenceDateTime"), "RiskAssessment.occurrenceDateTime"))


@dataclass(frozen=True)
class BaselineScales:
    scores: tuple[ScaleScore, ...]
    cssrs_screens: tuple[CssrsScreening, ...]
    unreadable: tuple[str, ...]  # "QuestionnaireResponse.item[44260-8]: ..." for each response skipped


def baseline_scales(resources: list[FhirJson], patient_id: str, settings: CourseSettings) -> BaselineScales:
    scores, screens, unreadable = [], [], []
    for resource in resources:
        if resource.get("resourceType") != "QuestionnaireResponse":
            continue
        try:
            instrument = questionnaire_instrument(resource)
        except FhirMappingError:
            continue  # not a scale (e.g. the intake's screening questionnaire)
        try:
            if instrument == CSSRS:
                received = cssrs_from_questionnaire_response(resource, settings)
                if received.patient_id == patient_id:
                    screens.append(received.screening)
            else:
                received_score = score_from_questionnaire_response(resource)
                if received_score.patient_id == patient_id:
                    scores.append(received_score.score)
        except FhirMappingError as error:
            unreadable.append(str(error))
    return BaselineScales(tuple(scores), tuple(screens), tuple(unreadable))
