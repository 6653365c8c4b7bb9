"""A score or C-SSRS screener answered in Ketalink (by the clinician or through the patient's questionnaire link) →
QuestionnaireResponse, the resource its survey Observation is ``derivedFrom``.

One item per scale item (linkId = the item code: LOINC for PHQ-9 and C-SSRS, local for MADRS, GAD-7 and
QIDS-SR16, as the intake writes them), ``valueInteger`` scores, C-SSRS answers as LOINC Yes/No, then the total as an
item of its own (computed from the items). ``status`` is ``amended`` for a rescored questionnaire. The patient is the
``source`` of a questionnaire they answered; a clinician is the ``author`` (display). ``encounter`` names the
infusion visit of a pre-infusion score, ``basedOn`` the course, ``meta.tag`` the context (baseline, pre-infusion,
follow-up). Scores that came from the EHR or the intake are not sent again: the EHR has their QuestionnaireResponse
already.

A patient link answered on the clinic's own Questionnaire (QIDS-SR16 from ``ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE``,
when the file has a ``url``) is written as a response to that Questionnaire instead: ``questionnaire`` is its
``url|version``, items carry its linkIds and the chosen answer's Coding, and there is no total item."""
from __future__ import annotations

from datetime import datetime

from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.measurements import (
    AnsweredQuestionnaire, CssrsScreening, ScaleScore, ScoreContext, ScoreSource,
)
from services.orders.course.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_QUESTIONNAIRE,
    KIND_QUESTIONNAIRE_RESPONSE,
    LOINC_NO,
    LOINC_YES,
    QUESTIONNAIRES,
    SCALE_ITEMS,
    SCALE_TOTALS,
    SCORE_CONTEXT_CODES,
)
from services.orders.course.translators.common import FhirJson, course_reference, session_encounter
from shared.fhir.datatypes import coding, identifier, instant, reference
from shared.fhir.validate import validate_resource
from shared.people import Person


def questionnaire_response_from_score(score: ScaleScore, patient_id: str, course_id: str) -> FhirJson:
    if score.answered_on is not None:
        return _clinic_response(score, score.answered_on, patient_id, course_id)
    items = [_integer_item(code.code, code.display, value)
             for code, value in zip(SCALE_ITEMS[score.scale], score.item_scores)]
    total = SCALE_TOTALS[score.scale]
    items.append(_integer_item(total.code, total.display, score.total_score))
    return _response(score.measurement_id, QUESTIONNAIRES[score.scale], items, score.source, score.context,
                     score.measured_at, score.recorded_by, score.session_id, score.rescored, patient_id, course_id)


def questionnaire_response_from_cssrs(screening: CssrsScreening, patient_id: str, course_id: str) -> FhirJson:
    items = [{"linkId": CSSRS_ITEMS[answer.item].code, "text": CSSRS_ITEMS[answer.item].display,
              "answer": [{"valueCoding": coding(LOINC_YES if answer.answer else LOINC_NO)}]}
             for answer in screening.answers]
    return _response(screening.measurement_id, CSSRS_QUESTIONNAIRE, items, screening.source, screening.context,
                     screening.measured_at, screening.recorded_by, screening.session_id, screening.rescored,
                     patient_id, course_id)


def _clinic_response(score: ScaleScore, answered: AnsweredQuestionnaire, patient_id: str,
                     course_id: str) -> FhirJson:
    """A link answered on the clinic's own Questionnaire (QIDS-SR16): the response names that Questionnaire
    (``url|version``) and answers in its linkIds and answer Codings, as a response to it must; no total item (the
    clinic's Questionnaire has none: the total is the Observation's value, scored by Ketalink)."""
    items = [{"linkId": answer.link_id, "answer": [{"valueCoding": {
        "system": answer.system, "code": answer.code, "display": answer.display}}]} for answer in answered.answers]
    return _response(score.measurement_id, answered.canonical, items, score.source, score.context,
                     score.measured_at, score.recorded_by, score.session_id, score.rescored, patient_id, course_id)


def _integer_item(link_id: str, text: str, value: int) -> FhirJson:
    return {"linkId": link_id, "text": text, "answer": [{"valueInteger": value}]}


def _response(measurement_id: str, questionnaire: str, items: list[FhirJson], source: ScoreSource,
              context: ScoreContext, authored: datetime, recorded_by: Person | None, session_id: str | None,
              rescored: bool, patient_id: str, course_id: str) -> FhirJson:
    if source in (ScoreSource.EHR_MESSAGE, ScoreSource.INTAKE):
        raise CourseInputError("source", f"a questionnaire from the {source.value} is in the EHR already")
    resource: FhirJson = {
        "resourceType": "QuestionnaireResponse",
        "meta": {"tag": [coding(SCORE_CONTEXT_CODES[context])]},
        "identifier": identifier(KIND_QUESTIONNAIRE_RESPONSE, measurement_id),
        "basedOn": [course_reference(course_id)],
        "questionnaire": questionnaire,
        "status": "amended" if rescored else "completed",
        "subject": reference("Patient", patient_id),
        "authored": instant(authored),
        "item": items,
    }
    if session_id:
        resource["encounter"] = session_encounter(session_id)
    if source is ScoreSource.PATIENT_LINK:
        resource["source"] = reference("Patient", patient_id)
    elif recorded_by:
        resource["author"] = recorded_by.fhir_reference()
    return validate_resource(resource)
