"""Scores over time: a scale answered before an infusion, at a follow-up visit or as the baseline, by the clinician
or sent by the patient (a questionnaire link, or a QuestionnaireResponse in an EHR message). Every total is scored
from the items by shared/scales.py when the record is made, so a stored score can never disagree with its items.

A score is keyed by ``measurement_id``: recording the same id again with other items is a rescoring (a corrected
questionnaire); it replaces the earlier answers and is marked ``rescored`` (the FHIR Observation goes out
``amended``). A score from the intake keeps the intake's QuestionnaireResponse identifier value as its
``measurement_id``, so the course's Observation can be ``derivedFrom`` it."""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.people import Person
from services.orders.course.domain.checks import require_aware, require_text
from services.orders.course.domain.errors import CourseInputError
from services.orders.course.domain.settings import CourseSettings
from shared.records import JsonRecord
from shared.scales import (
    DEFINITIONS,
    CssrsAnswer,
    CssrsItem,
    CssrsRisk,
    Scale,
    ScaleError,
    checked_cssrs_answers,
    checked_items,
    cssrs_risk,
    suicidality_item_score,
    total_score,
)


class ScoreSource(enum.Enum):
    CLINICIAN = "clinician"  # rated or entered by a clinician in Ketalink
    PATIENT_LINK = "patient-link"  # the patient answered Ketalink's questionnaire link
    EHR_MESSAGE = "ehr-message"  # a QuestionnaireResponse the EHR sent (e.g. answered in the patient portal)
    INTAKE = "intake"  # the intake's baseline QuestionnaireResponse (in ``intake-eligibility-decided``)


class ScoreContext(enum.Enum):
    BASELINE = "baseline"
    PRE_INFUSION = "pre-infusion"
    FOLLOW_UP = "follow-up"


@dataclass(frozen=True)
class ChosenAnswer(JsonRecord):
    """One item's answer as the clinic's Questionnaire codes it (``patient_instruments``)."""

    link_id: str
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class AnsweredQuestionnaire(JsonRecord):
    """The clinic's own Questionnaire a patient answered through a link (its canonical, ``url|version``) and the
    answer chosen for each item in its codes, so the QuestionnaireResponse names what the patient actually read."""

    canonical: str
    answers: tuple[ChosenAnswer, ...]


@dataclass(frozen=True)
class ScaleScore(JsonRecord):
    measurement_id: str
    scale: Scale
    item_scores: tuple[int, ...]
    measured_at: datetime
    source: ScoreSource
    context: ScoreContext
    session_id: str | None = None  # the infusion visit (documentation's session) a pre-infusion score belongs to
    recorded_by: Person | None = None  # the clinician; None when the patient answered
    ehr_questionnaire_response_id: str | None = None  # the EHR's QuestionnaireResponse the items came from
    rescored: bool = False
    answered_on: AnsweredQuestionnaire | None = None  # the clinic's Questionnaire of a link, when it has a url

    derived_fields = ("total_score",)

    def __post_init__(self) -> None:
        require_text(self.measurement_id, "score.measurement_id")
        try:
            checked_items(self.scale, self.item_scores)
        except ScaleError as error:
            raise CourseInputError(f"score.{error.field}", error.message) from None
        require_aware(self.measured_at, "score.measured_at")
        if self.source is ScoreSource.EHR_MESSAGE and not self.ehr_questionnaire_response_id:
            raise CourseInputError("score.ehr_questionnaire_response_id",
                                   "a score from an EHR message names the EHR's QuestionnaireResponse")
        if self.answered_on is not None and len(self.answered_on.answers) != len(self.item_scores):
            raise CourseInputError("score.answered_on", "one answer per item")

    @property
    def total_score(self) -> int:
        return total_score(self.scale, self.item_scores)

    @property
    def suicidality_item(self) -> int | None:
        """The answer to the scale's death/self-harm item (PHQ-9 item 9 ...); None for GAD-7."""
        return suicidality_item_score(self.scale, self.item_scores)

    @property
    def scale_name(self) -> str:
        return DEFINITIONS[self.scale].name


@dataclass(frozen=True)
class CssrsScreening(JsonRecord):
    """A C-SSRS screener with the risk computed from its answers by the clinic's item lists when recorded."""

    measurement_id: str
    answers: tuple[CssrsAnswer, ...]
    measured_at: datetime
    source: ScoreSource
    context: ScoreContext
    risk: CssrsRisk
    session_id: str | None = None
    recorded_by: Person | None = None
    ehr_questionnaire_response_id: str | None = None
    rescored: bool = False

    def __post_init__(self) -> None:
        require_text(self.measurement_id, "cssrs.measurement_id")
        require_aware(self.measured_at, "cssrs.measured_at")

    def answer_for(self, item: CssrsItem) -> bool | None:
        return next((a.answer for a in self.answers if a.item is item), None)

    def endorsed_items(self) -> tuple[CssrsItem, ...]:
        return tuple(a.item for a in self.answers if a.answer)


def scale_score(measurement_id: str, scale: Scale, item_scores: Sequence[int | None], measured_at: datetime,
                source: ScoreSource, context: ScoreContext, *, session_id: str | None = None,
                recorded_by: Person | None = None, ehr_questionnaire_response_id: str | None = None) -> ScaleScore:
    """A checked score; CourseInputError names the bad item (``score.items[8]`` for item 9) or field."""
    try:
        items = checked_items(scale, item_scores)
    except ScaleError as error:
        raise CourseInputError(f"score.{error.field}", error.message) from None
    return ScaleScore(measurement_id, scale, items, measured_at, source, context, session_id,
                      recorded_by, ehr_questionnaire_response_id)


def cssrs_screening(measurement_id: str, answers: Mapping[str | CssrsItem, bool | None], measured_at: datetime,
                    source: ScoreSource, context: ScoreContext, settings: CourseSettings, *,
                    session_id: str | None = None, recorded_by: Person | None = None,
                    ehr_questionnaire_response_id: str | None = None) -> CssrsScreening:
    """The screener after its skip logic, with the risk by the clinic's high/moderate items; CourseInputError names
    the item (``cssrs.suicidal-thoughts``)."""
    require_aware(measured_at, "cssrs.measured_at")
    try:
        ordered = checked_cssrs_answers(answers)
    except ScaleError as error:
        raise CourseInputError(f"cssrs.{error.field}", error.message) from None
    risk = cssrs_risk({a.item: a.answer for a in ordered}, settings.cssrs_high_risk_items,
                      settings.cssrs_moderate_risk_items)
    if source is ScoreSource.EHR_MESSAGE and not ehr_questionnaire_response_id:
        raise CourseInputError("cssrs.ehr_questionnaire_response_id",
                               "a screener from an EHR message names the EHR's QuestionnaireResponse")
    return CssrsScreening(measurement_id, ordered, measured_at, source, context, risk, session_id,
                          recorded_by, ehr_questionnaire_response_id)


