"""QuestionnaireResponse (PHQ-9, MADRS, C-SSRS screener, as questionnaire_response_scales_out writes them) →
the domain records, re-checked by the domain rules (a missing item is an error naming it).

PHQ-9 items may be ``valueInteger`` or the LOINC answer codings (LA6568-5..LA6571-9 = 0..3); a PHQ-9 total
item that disagrees with the items is refused. C-SSRS answers may be ``valueBoolean`` or LOINC Yes/No codings.
"""
from __future__ import annotations

from services.intake.domain.cssrs import CssrsScreen
from services.intake.domain.recording import checked_cssrs
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.domain.settings import IntakeSettings
from services.intake.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_QUESTIONNAIRE,
    LOINC_NO,
    LOINC_YES,
    MADRS_ITEMS,
    MADRS_QUESTIONNAIRE,
    PHQ9_ITEMS,
    PHQ9_QUESTIONNAIRE,
)
from services.intake.translators.common import FhirJson, fhir_datetime, validated
from shared.errors import FhirMappingError
from shared.fhir.codes import LOINC, PHQ9_TOTAL
from shared.people import Person

PHQ9_ANSWER_SCORES = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}


def phq9_from_questionnaire_response(response: FhirJson) -> Phq9Response:
    answers = _answers_by_link_id(response, PHQ9_QUESTIONNAIRE)
    scores = [_score(answers.get(code.code), code.code) for code in PHQ9_ITEMS]
    phq9 = Phq9Response.checked(scores, fhir_datetime(response.get("authored"), "QuestionnaireResponse.authored"))
    total = answers.get(PHQ9_TOTAL.code)
    if total is not None and _score(total, PHQ9_TOTAL.code) != phq9.total_score:
        raise FhirMappingError(f"QuestionnaireResponse.item[{PHQ9_TOTAL.code}]",
                               f"total {_score(total, PHQ9_TOTAL.code)} disagrees with the items ({phq9.total_score})")
    return phq9


def madrs_from_questionnaire_response(response: FhirJson) -> MadrsRating:
    answers = _answers_by_link_id(response, MADRS_QUESTIONNAIRE)
    scores = [_score(answers.get(code.code), code.code) for code in MADRS_ITEMS]
    rated_by = Person.from_fhir(response.get("author"))
    return MadrsRating.checked(
        scores, fhir_datetime(response.get("authored"), "QuestionnaireResponse.authored"), rated_by
    )


def cssrs_from_questionnaire_response(response: FhirJson, settings: IntakeSettings) -> CssrsScreen:
    answers = _answers_by_link_id(response, CSSRS_QUESTIONNAIRE)
    given = {item: _yes_no(answers.get(code.code), code.code) for item, code in CSSRS_ITEMS.items()}
    return checked_cssrs(given, fhir_datetime(response.get("authored"), "QuestionnaireResponse.authored"), settings)


def _answers_by_link_id(response: FhirJson, questionnaire: str) -> dict[str, FhirJson]:
    validated(response, "QuestionnaireResponse")
    if response.get("questionnaire") != questionnaire:
        raise FhirMappingError("QuestionnaireResponse.questionnaire", f"expected {questionnaire}")
    return {
        item["linkId"]: item["answer"][0]
        for item in response.get("item") or []
        if item.get("answer")
    }


def _score(answer: FhirJson | None, link_id: str) -> int | None:
    if answer is None:
        return None
    if "valueInteger" in answer:
        return answer["valueInteger"]
    coding = answer.get("valueCoding") or {}
    if coding.get("system") == LOINC and coding.get("code") in PHQ9_ANSWER_SCORES:
        return PHQ9_ANSWER_SCORES[coding["code"]]
    raise FhirMappingError(f"QuestionnaireResponse.item[{link_id}].answer", "expected an integer score")


def _yes_no(answer: FhirJson | None, link_id: str) -> bool | None:
    if answer is None:
        return None
    if "valueBoolean" in answer:
        return answer["valueBoolean"]
    coding = answer.get("valueCoding") or {}
    if coding.get("system") == LOINC and coding.get("code") in (LOINC_YES.code, LOINC_NO.code):
        return coding["code"] == LOINC_YES.code
    raise FhirMappingError(f"QuestionnaireResponse.item[{link_id}].answer", "expected yes or no")
