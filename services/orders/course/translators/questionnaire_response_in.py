"""QuestionnaireResponse → a score or C-SSRS screener of the course, scored from its items.

Read: Ketalink's own responses (``questionnaire_response_out``), the intake's baseline PHQ-9, MADRS and C-SSRS
(source ``intake``, keyed by the intake's identifier value, context baseline unless told otherwise) and those an EHR
sends (a portal questionnaire, an EHR message): the questionnaire is one of Ketalink's canonicals
(a ``|version`` is ignored) or LOINC's PHQ-9 / GAD-7 panel; items are found by linkId anywhere in the item tree;
scores as ``valueInteger`` or, for PHQ-9 and GAD-7, LOINC answer codes (LL358-3); C-SSRS answers as LOINC Yes/No or
``valueBoolean``. A total given in the response must agree with the items. Status ``completed`` or ``amended``
(= rescored) only. A response from the EHR (no Ketalink identifier) needs its ``id``; its score is keyed
``ehr-questionnaire-response-{id}`` so the EHR sending it again updates the same score.

``context`` (baseline, pre-infusion, follow-up) comes from the caller when given, else from the tag Ketalink writes,
else follow-up. Errors are FhirMappingErrors naming the element (``QuestionnaireResponse.item[44260-8]``).

A response naming the clinic's own Questionnaire (QIDS-SR16 from ``ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE``, by its
``url``; a different ``|version`` is refused) is read by that file's linkIds, each answer by its Coding among the
item's four (the file's score), as Ketalink writes a link's response and as an EHR portal using the same file would:
``clinic_instruments`` is the service's, passed by the caller."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.measurements import ScoreContext, ScoreSource, cssrs_screening, scale_score
from services.orders.course.domain.patient_instruments import PatientInstrument
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.translators.codes import (
    CSSRS_ITEMS,
    CSSRS_QUESTIONNAIRE,
    FREQUENCY_ANSWER_SCORES,
    KIND_COURSE,
    KIND_INFUSION_SESSION,
    KIND_INTAKE_QUESTIONNAIRE_RESPONSE,
    KIND_QUESTIONNAIRE_RESPONSE,
    LOINC_NO,
    LOINC_QUESTIONNAIRES,
    LOINC_YES,
    QUESTIONNAIRES,
    SCALE_ITEMS,
    SCALE_TOTALS,
    SCORE_CONTEXT_CODES,
)
from services.orders.course.translators.common import FhirJson, ReceivedCssrs, ReceivedScore, coded
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.codes import LOINC, identifier_system
from shared.fhir.datatypes import reference_id
from shared.people import Person
from shared.scales import Scale, ScaleError, checked_items

CSSRS = "cssrs"
EHR_MEASUREMENT_PREFIX = "ehr-questionnaire-response-"
_USABLE_STATUSES = ("completed", "amended")
_FREQUENCY_ANSWER_SCALES = (Scale.PHQ9, Scale.GAD7)


def questionnaire_instrument(resource: FhirJson,
                             clinic_instruments: Mapping[Scale, PatientInstrument] | None = None) -> Scale | str:
    """Which instrument a QuestionnaireResponse answers: a Scale, or ``"cssrs"``."""
    canonical = str(resource.get("questionnaire") or "").split("|", 1)[0]
    clinic = _clinic_instrument(resource, clinic_instruments)
    if clinic is not None:
        return clinic.scale
    if canonical == CSSRS_QUESTIONNAIRE:
        return CSSRS
    for scale, url in QUESTIONNAIRES.items():
        if canonical == url:
            return scale
    if canonical in LOINC_QUESTIONNAIRES:
        return LOINC_QUESTIONNAIRES[canonical]
    raise FhirMappingError("QuestionnaireResponse.questionnaire", f"{canonical!r} is not a questionnaire the course "
                                                                  "scores")


def score_from_questionnaire_response(resource: FhirJson, *, context: ScoreContext | None = None,
                                      clinic_instruments: Mapping[Scale, PatientInstrument] | None = None
                                      ) -> ReceivedScore:
    resource = validated(resource, "QuestionnaireResponse")
    scale = questionnaire_instrument(resource, clinic_instruments)
    if not isinstance(scale, Scale):
        raise FhirMappingError("QuestionnaireResponse.questionnaire", "a C-SSRS screener has no numeric score")
    header = _header(resource, context)
    answers = _answers_by_link_id(resource.get("item") or [])
    clinic = _clinic_instrument(resource, clinic_instruments)
    if clinic is not None:
        return _clinic_score(resource, clinic, answers, header)
    codes = SCALE_ITEMS[scale]
    given = [_item_score(answers.get(code.code), code.code, scale) for code in codes]
    try:
        items = checked_items(scale, given)
    except ScaleError as error:
        raise FhirMappingError(_item_path(error.field, codes), error.message) from None
    score = scale_score(header["measurement_id"], scale, items, header["measured_at"], header["source"],
                        header["context"], session_id=header["session_id"], recorded_by=header["recorded_by"],
                        ehr_questionnaire_response_id=header["ehr_id"])
    total_code = SCALE_TOTALS[scale].code
    if total_code in answers:
        stated = _item_score(answers[total_code], total_code, None)
        if stated != score.total_score:
            raise FhirMappingError(f"QuestionnaireResponse.item[{total_code}]",
                                   f"total {stated} disagrees with the items ({score.total_score})")
    return ReceivedScore(header["patient_id"], header["course_id"], replace(score, rescored=header["rescored"]))


def _clinic_instrument(resource: FhirJson, clinic_instruments: Mapping[Scale, PatientInstrument] | None
                       ) -> PatientInstrument | None:
    """The clinic's own Questionnaire (QIDS-SR16 from its file) the response names by ``url``; a response naming
    another ``version`` of it is refused: that version's items and scores are not the ones Ketalink checked."""
    url, bar, version = str(resource.get("questionnaire") or "").partition("|")
    for instrument in (clinic_instruments or {}).values():
        if instrument.url and url == instrument.url:
            if bar and version != (instrument.version or ""):
                raise FhirMappingError("QuestionnaireResponse.questionnaire",
                                       f"version {version!r} of the clinic's questionnaire is not the one loaded "
                                       f"({instrument.version!r})")
            return instrument
    return None


def _clinic_score(resource: FhirJson, instrument: PatientInstrument, answers: dict[str, FhirJson],
                  header: dict[str, Any]) -> ReceivedScore:
    """Each item by the clinic's linkId, its answer by the Coding's system and code among the item's four; the
    total by the scale's own rule (``scale_score``), never from the response."""
    given: list[int | None] = []
    for item in instrument.items:
        answer = answers.get(item.link_id)
        if answer is None:
            given.append(None)
            continue
        chosen = answer.get("valueCoding") or {}
        scores = [a.score for a in item.answers if (a.system, a.code) == (chosen.get("system"), chosen.get("code"))]
        if not scores:
            raise FhirMappingError(f"QuestionnaireResponse.item[{item.link_id}].answer",
                                   "expected one of the item's answer codes in the clinic's questionnaire")
        given.append(scores[0])
    try:
        items = checked_items(instrument.scale, given)
    except ScaleError as error:
        index = int(error.field[6:-1]) if error.field.startswith("items[") else None
        where = instrument.items[index].link_id if index is not None else ""
        raise FhirMappingError(f"QuestionnaireResponse.item[{where}]" if where else "QuestionnaireResponse.item",
                               error.message) from None
    score = scale_score(header["measurement_id"], instrument.scale, items, header["measured_at"], header["source"],
                        header["context"], session_id=header["session_id"], recorded_by=header["recorded_by"],
                        ehr_questionnaire_response_id=header["ehr_id"])
    return ReceivedScore(header["patient_id"], header["course_id"],
                         replace(score, rescored=header["rescored"], answered_on=instrument.answered(items)))


def cssrs_from_questionnaire_response(resource: FhirJson, settings: CourseSettings, *,
                                      context: ScoreContext | None = None) -> ReceivedCssrs:
    resource = validated(resource, "QuestionnaireResponse")
    if questionnaire_instrument(resource) != CSSRS:
        raise FhirMappingError("QuestionnaireResponse.questionnaire", "expected the C-SSRS screener")
    header = _header(resource, context)
    answers = _answers_by_link_id(resource.get("item") or [])
    given = {item: _yes_no(answers[code.code], code.code) for item, code in CSSRS_ITEMS.items() if code.code in answers}
    try:
        screening = cssrs_screening(header["measurement_id"], given, header["measured_at"], header["source"],
                                    header["context"], settings, session_id=header["session_id"],
                                    recorded_by=header["recorded_by"], ehr_questionnaire_response_id=header["ehr_id"])
    except CourseInputError as error:
        item_key = error.field.removeprefix("cssrs.")
        code = next((c.code for i, c in CSSRS_ITEMS.items() if i.value == item_key), item_key)
        raise FhirMappingError(f"QuestionnaireResponse.item[{code}]", error.message) from None
    return ReceivedCssrs(header["patient_id"], header["course_id"],
                         replace(screening, rescored=header["rescored"]))


def _header(resource: FhirJson, context: ScoreContext | None) -> dict[str, Any]:
    status = resource.get("status")
    if status not in _USABLE_STATUSES:
        raise FhirMappingError("QuestionnaireResponse.status", f"{status!r}: only completed or amended responses are "
                                                               "scored")
    own_id = _identifier_value(resource, KIND_QUESTIONNAIRE_RESPONSE)
    intake_id = _identifier_value(resource, KIND_INTAKE_QUESTIONNAIRE_RESPONSE)
    if own_id:
        patient_source = str((resource.get("source") or {}).get("reference", "")).startswith("Patient/")
        source = ScoreSource.PATIENT_LINK if patient_source else ScoreSource.CLINICIAN
        measurement_id, ehr_id = own_id, None
    elif intake_id:
        source, measurement_id, ehr_id = ScoreSource.INTAKE, intake_id, None
    else:
        ehr_id = resource.get("id")
        if not ehr_id:
            raise FhirMappingError("QuestionnaireResponse.id", "a response from the EHR needs its id")
        source, measurement_id = ScoreSource.EHR_MESSAGE, f"{EHR_MEASUREMENT_PREFIX}{ehr_id}"
    tagged = coded({"coding": (resource.get("meta") or {}).get("tag") or []}, SCORE_CONTEXT_CODES)
    encounter = resource.get("encounter")
    return {
        "patient_id": patient_id_of(resource.get("subject"), "QuestionnaireResponse.subject"),
        "course_id": referenced_identifier(resource.get("basedOn"), KIND_COURSE),
        "measurement_id": measurement_id,
        "ehr_id": ehr_id,
        "source": source,
        "context": context or tagged or (ScoreContext.BASELINE if source is ScoreSource.INTAKE
                                         else ScoreContext.FOLLOW_UP),
        "measured_at": moment(resource.get("authored"), "QuestionnaireResponse.authored"),
        "session_id": referenced_identifier([encounter] if encounter else [], KIND_INFUSION_SESSION),
        "recorded_by": None if reference_id(resource.get("author"), "Patient") else Person.from_fhir(
            resource.get("author")),
        "rescored": status == "amended",
    }


def _identifier_value(resource: FhirJson, kind: str) -> str | None:
    """QuestionnaireResponse.identifier is a single Identifier in R4."""
    ident = resource.get("identifier") or {}
    if ident.get("system") == identifier_system(kind):
        return ident.get("value")
    return None


def _answers_by_link_id(items: list[FhirJson]) -> dict[str, FhirJson]:
    """linkId → the first answer, from the whole item tree (groups and nested items included)."""
    found: dict[str, FhirJson] = {}
    for item in items:
        answers = item.get("answer") or []
        if answers and item.get("linkId") not in found:
            found[item["linkId"]] = answers[0]
        found.update({k: v for k, v in _answers_by_link_id(item.get("item") or []).items() if k not in found})
        for answer in answers:
            found.update({k: v for k, v in _answers_by_link_id(answer.get("item") or []).items() if k not in found})
    return found


def _item_score(answer: FhirJson | None, link_id: str, scale: Scale | None) -> int | None:
    if answer is None:
        return None
    if "valueInteger" in answer:
        return answer["valueInteger"]
    answer_coding = answer.get("valueCoding") or {}
    if (scale in _FREQUENCY_ANSWER_SCALES and answer_coding.get("system") == LOINC
            and answer_coding.get("code") in FREQUENCY_ANSWER_SCORES):
        return FREQUENCY_ANSWER_SCORES[answer_coding["code"]]
    raise FhirMappingError(f"QuestionnaireResponse.item[{link_id}].answer",
                           "expected valueInteger" + (" or a LOINC answer code (LL358-3)"
                                                      if scale in _FREQUENCY_ANSWER_SCALES else ""))


def _yes_no(answer: FhirJson, link_id: str) -> bool:
    if isinstance(answer.get("valueBoolean"), bool):
        return answer["valueBoolean"]
    answer_coding = answer.get("valueCoding") or {}
    for code, value in ((LOINC_YES, True), (LOINC_NO, False)):
        if answer_coding.get("system") == code.system and answer_coding.get("code") == code.code:
            return value
    raise FhirMappingError(f"QuestionnaireResponse.item[{link_id}].answer", "expected LOINC Yes (LA33-6) or No "
                                                                            "(LA32-8), or valueBoolean")


def _item_path(field: str, codes: tuple) -> str:
    """``items[3]`` → ``QuestionnaireResponse.item[<linkId of item 4>]``."""
    if field.startswith("items[") and field.endswith("]"):
        return f"QuestionnaireResponse.item[{codes[int(field[6:-1])].code}]"
    return "QuestionnaireResponse.item"
