"""PHQ-9, MADRS and C-SSRS screener → QuestionnaireResponse (one per scale, an item per scale item).

linkIds are the item codes (LOINC for PHQ-9 and C-SSRS, local for MADRS); scores are ``valueInteger``, C-SSRS
answers LOINC Yes/No codings. The PHQ-9 response also carries its total (44261-6), computed from the items.
"""
from __future__ import annotations

from datetime import datetime

from services.intake.domain.cssrs import CssrsScreen
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_QUESTIONNAIRE,
    LOINC_NO,
    LOINC_YES,
    MADRS_ITEMS,
    MADRS_QUESTIONNAIRE,
    PHQ9_ITEMS,
    PHQ9_QUESTIONNAIRE,
    QUESTIONNAIRE_RESPONSE_KIND,
)
from services.intake.translators.common import FhirJson
from shared.fhir.codes import PHQ9_TOTAL
from shared.fhir.datatypes import coding, identifier, instant, reference
from shared.fhir.validate import validate_resource

PHQ9_NAME, MADRS_NAME, CSSRS_NAME = "phq-9", "madrs", "cssrs"


def questionnaire_response_identifier_value(intake_id: str, questionnaire: str) -> str:
    return f"{intake_id}-{questionnaire}"


def phq9_questionnaire_response(phq9: Phq9Response, patient_id: str, intake_id: str) -> FhirJson:
    items = [_integer_item(code.code, code.display, score) for code, score in zip(PHQ9_ITEMS, phq9.item_scores)]
    items.append(_integer_item(PHQ9_TOTAL.code, PHQ9_TOTAL.display, phq9.total_score))
    return _response(PHQ9_NAME, PHQ9_QUESTIONNAIRE, items, patient_id, intake_id, phq9.answered_at)


def madrs_questionnaire_response(madrs: MadrsRating, patient_id: str, intake_id: str) -> FhirJson:
    items = [_integer_item(code.code, code.display, score) for code, score in zip(MADRS_ITEMS, madrs.item_scores)]
    resource = _response(MADRS_NAME, MADRS_QUESTIONNAIRE, items, patient_id, intake_id, madrs.rated_at)
    if madrs.rated_by:
        resource["author"] = madrs.rated_by.fhir_reference()
    return validate_resource(resource)


def cssrs_questionnaire_response(cssrs: CssrsScreen, patient_id: str, intake_id: str) -> FhirJson:
    items = [
        {
            "linkId": CSSRS_ITEMS[answer.item].code,
            "text": CSSRS_ITEMS[answer.item].display,
            "answer": [{"valueCoding": coding(LOINC_YES if answer.answer else LOINC_NO)}],
        }
        for answer in cssrs.answers
    ]
    return _response(CSSRS_NAME, CSSRS_QUESTIONNAIRE, items, patient_id, intake_id, cssrs.answered_at)


def _integer_item(link_id: str, text: str, value: int) -> FhirJson:
    return {"linkId": link_id, "text": text, "answer": [{"valueInteger": value}]}


def _response(
    name: str, questionnaire: str, items: list[FhirJson], patient_id: str, intake_id: str, authored: datetime
) -> FhirJson:
    return validate_resource(
        {
            "resourceType": "QuestionnaireResponse",
            "identifier": identifier(QUESTIONNAIRE_RESPONSE_KIND, questionnaire_response_identifier_value(intake_id,
                                                                                                          name)),
            "questionnaire": questionnaire,
            "status": "completed",
            "subject": reference("Patient", patient_id),
            "authored": instant(authored),
            "item": items,
        }
    )
