"""The rating scales: PHQ-9, MADRS and the C-SSRS screener, with the behavioural-health review a moderate or high
C-SSRS risk needs."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from services.intake.domain.checks import require_aware, require_text, require_person
from services.intake.domain.cssrs import CssrsItem, CssrsRisk, CssrsScreen, cssrs_risk
from services.intake.domain.errors import IntakeInputError
from services.intake.domain.model import Intake
from services.intake.domain.plausibility import check_part_time
from services.intake.domain.recording.guards import checked_enum, require_in_progress
from services.intake.domain.reviews import BehaviouralHealthReview, ReviewOutcome
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.domain.settings import IntakeSettings
from shared.people import Person
from shared.scales import ScaleError, checked_cssrs_answers


def record_phq9(intake: Intake, item_scores: Sequence[int | None], answered_at: datetime,
                settings: IntakeSettings | None = None, now: datetime | None = None) -> Intake:
    require_in_progress(intake)
    response = Phq9Response.checked(item_scores, answered_at)
    check_part_time(intake, answered_at, "phq9.answered_at", settings or IntakeSettings(), now)
    return dataclasses.replace(intake, phq9=response)


def record_madrs(
    intake: Intake, item_scores: Sequence[int | None], rated_at: datetime, rated_by: Person | None = None,
    settings: IntakeSettings | None = None, now: datetime | None = None,
) -> Intake:
    require_in_progress(intake)
    rated_by = require_person(rated_by, "madrs.rated_by") if rated_by is not None else None
    rating = MadrsRating.checked(item_scores, rated_at, rated_by)
    check_part_time(intake, rated_at, "madrs.rated_at", settings or IntakeSettings(), now)
    return dataclasses.replace(intake, madrs=rating)


def record_cssrs(
    intake: Intake,
    answers: Mapping[str | CssrsItem, bool | None],
    answered_at: datetime,
    settings: IntakeSettings,
    now: datetime | None = None,
) -> Intake:
    """Answers by item key (None or absent = not asked). Required items follow the screener's skip logic. A new
    screen sets aside the review of the previous one: a moderate or high result needs its own review."""
    require_in_progress(intake)
    screen = checked_cssrs(answers, answered_at, settings)
    check_part_time(intake, answered_at, "cssrs.answered_at", settings, now)
    return dataclasses.replace(intake, cssrs=screen, cssrs_review=None)


def checked_cssrs(
    answers: Mapping[str | CssrsItem, bool | None], answered_at: datetime, settings: IntakeSettings
) -> CssrsScreen:
    """The validated screen with its risk level (also used by the QuestionnaireResponse reader)."""
    require_aware(answered_at, "cssrs.answered_at")
    try:
        ordered = checked_cssrs_answers(answers)
    except ScaleError as error:
        raise IntakeInputError(f"cssrs.{error.field}", error.message) from None
    given = {answer.item: answer.answer for answer in ordered}
    risk = cssrs_risk(given, settings.cssrs_high_risk_items, settings.cssrs_moderate_risk_items)
    return CssrsScreen(ordered, answered_at, risk)


def record_cssrs_review(intake: Intake, review: BehaviouralHealthReview, settings: IntakeSettings,
                        now: datetime | None = None) -> Intake:
    """A documented behavioural-health review of the current C-SSRS screen (moderate or high risk only): who (the
    signed-in clinician), when, the outcome and a note. Replaces an earlier review of the same screen."""
    require_in_progress(intake)
    screen = intake.cssrs
    if screen is None:
        raise IntakeInputError("cssrs_review", "record the C-SSRS screener before its review")
    if screen.risk.rank < CssrsRisk.MODERATE.rank:
        raise IntakeInputError("cssrs_review", f"the C-SSRS screener risk is {screen.risk.value}: only a moderate or "
                                               "high risk is reviewed")
    reviewed_by = require_person(review.reviewed_by, "cssrs_review.reviewed_by")
    require_aware(review.reviewed_at, "cssrs_review.reviewed_at")
    check_part_time(intake, review.reviewed_at, "cssrs_review.reviewed_at", settings, now)
    if review.reviewed_at < screen.answered_at:
        raise IntakeInputError("cssrs_review.reviewed_at", "the review cannot be before the screen it reviews")
    outcome = checked_enum(ReviewOutcome, review.outcome, "cssrs_review.outcome")
    note = require_text(review.note, "cssrs_review.note")
    checked = BehaviouralHealthReview(reviewed_by, review.reviewed_at, outcome, note, screen.risk, screen.answered_at)
    return dataclasses.replace(intake, cssrs_review=checked)
