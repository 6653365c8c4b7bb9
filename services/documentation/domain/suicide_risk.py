"""The day-of-infusion suicide-risk check (issue 13 defect 5).

Ketamine is given to people with treatment-resistant depression, many with suicidal ideation; the infusion day is
a point of contact where a change in risk must be seen by a clinician before the infusion. So:

- the pre-infusion check includes the day's C-SSRS screener (``pre_check_cssrs_required``, on by default), triaged
  as the Columbia screener's triage (CLINICAL.md): items 1-2 low, item 3 moderate, items 4-5 or behaviour in the
  past 3 months high (item lists are settings shared with the intake and the course, ``shared/scales.py``);
- the infusion does not start while the day's screener is high risk, or a suicidality alert raised by the treatment
  course (``ketalink.orders.events``: ``suicidality-alert``, closed by ``suicidality-alert-acknowledged``) is open,
  unless a clinician has documented a review after it: who (the signed-in clinician), when, the decision (proceed or
  not) and a note. A review that decides not to proceed keeps the infusion from starting;
- when the day's risk was above low (a moderate or high screener, or an open alert at the review), discharge needs a
  safety plan confirmed (``discharge.safety_plan_criterion``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from shared.scales import (
    AlertLevel,
    CssrsAnswer,
    CssrsItem,
    CssrsRisk,
    ScaleError,
    checked_cssrs_answers,
    cssrs_risk,
)
from shared.people import Person

CSSRS_QUESTIONS = {  # the screener's questions (past month unless said), short, for the page
    CssrsItem.WISH_TO_BE_DEAD: "1. Wished you were dead or wished you could go to sleep and not wake up?",
    CssrsItem.SUICIDAL_THOUGHTS: "2. Had any actual thoughts of killing yourself?",
    CssrsItem.IDEATION_WITH_METHOD: "3. Thought about how you might do this?",
    CssrsItem.IDEATION_WITH_INTENT: "4. Had these thoughts and had some intention of acting on them?",
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: "5. Started to work out or worked out the details of how to kill "
                                             "yourself, and do you intend to carry out this plan?",
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME: "6. Ever done anything, started to do anything, or prepared to do "
                                           "anything to end your life?",
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: "6b. Was this within the past 3 months?",
}


def field_name(item: CssrsItem) -> str:
    """The request body's name of an item (``wish_to_be_dead``)."""
    return item.value.replace("-", "_")


class ReviewDecision(enum.Enum):
    PROCEED = "proceed"
    DO_NOT_PROCEED = "do-not-proceed"


@dataclass(frozen=True)
class CssrsScreen(DocumentationRecord):
    """The day's C-SSRS screener as answered at a pre-infusion check, with its triaged risk."""

    screening_id: str
    answers: tuple[CssrsAnswer, ...]
    risk: CssrsRisk
    screened_by: Person
    screened_at: datetime

    def __post_init__(self) -> None:
        require_text(self.screening_id, "screening_id")
        require_person(self.screened_by, "screened_by")
        require_aware(self.screened_at, "screened_at")

    def endorsed(self) -> tuple[str, ...]:
        return tuple(answer.item.value for answer in self.answers if answer.answer)


@dataclass(frozen=True)
class SuicidalityAlertSeen(DocumentationRecord):
    """A suicidality alert of the patient's treatment course, as documentation learnt it from the orders service's
    events; ``acknowledged_at`` is set once the prescriber closed it."""

    alert_id: str
    patient_id: str
    level: AlertLevel
    raised_at: datetime
    detail: str
    acknowledged_at: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.alert_id, "alert_id")
        require_text(self.patient_id, "patient_id")
        require_aware(self.raised_at, "raised_at")

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    def describe(self) -> str:
        return f"open suicidality alert {self.alert_id} ({self.level.value}): {self.detail}"


@dataclass(frozen=True)
class SuicideRiskReview(DocumentationRecord):
    """A clinician's documented review of the day's suicide risk: what was reviewed (the screener, the open alerts),
    the decision and a note."""

    reviewed_by: Person
    reviewed_at: datetime
    decision: ReviewDecision
    note: str
    screening_id: str = ""
    screening_risk: CssrsRisk | None = None
    alerts: tuple[SuicidalityAlertSeen, ...] = ()

    def __post_init__(self) -> None:
        require_person(self.reviewed_by, "reviewed_by")
        require_aware(self.reviewed_at, "reviewed_at")
        require_text(self.note, "note")


def screen_cssrs(screening_id: str, answers: Mapping[str, bool | None], settings: SessionSettings, by: Person,
                 at: datetime) -> CssrsScreen:
    """The screener's answers (by item key, skip logic applied) triaged with the clinic's item lists."""
    try:
        checked = checked_cssrs_answers(answers)
    except ScaleError as error:
        raise DocumentationInputError(f"cssrs.{error.field.replace('-', '_')}", error.message) from None
    risk = cssrs_risk({a.item: a.answer for a in checked}, settings.cssrs_high_risk_items,
                      settings.cssrs_moderate_risk_items)
    return CssrsScreen(screening_id, checked, risk, by, at)


def needs_review(screens: tuple[CssrsScreen, ...], open_alerts: tuple[SuicidalityAlertSeen, ...],
                 reviews: tuple[SuicideRiskReview, ...]) -> tuple[str, ...]:
    """What still needs a clinician's documented review: each high-risk screener of the day with no review after
    it (a later screener answered "no" does not undo it), and each open alert no review has covered.

    A review covers the screener it was recorded against (``screening_id``, the latest at the time) and the ones
    before it, never one recorded after it: the times are typed, so a recheck timed before the review but recorded
    after it (a high-risk screener the reviewer never saw) would otherwise count as reviewed."""
    reasons = []
    position = {screen.screening_id: index for index, screen in enumerate(screens)}
    for index, screen in enumerate(screens):
        if screen.risk is CssrsRisk.HIGH and not any(position.get(review.screening_id, -1) >= index
                                                     for review in reviews):
            reasons.append(f"C-SSRS screener high risk today (endorsed: {', '.join(screen.endorsed())}): a "
                           "clinician's documented review is needed before the infusion")
    reviewed_alerts = {alert.alert_id for review in reviews for alert in review.alerts}
    for alert in open_alerts:
        if alert.alert_id not in reviewed_alerts:
            reasons.append(alert.describe() + ": a clinician's documented review is needed before the infusion")
    return tuple(reasons)


def suicide_risk_blocks(screens: tuple[CssrsScreen, ...], open_alerts: tuple[SuicidalityAlertSeen, ...],
                        reviews: tuple[SuicideRiskReview, ...], settings: SessionSettings) -> tuple[str, ...]:
    """Why the infusion may not start on suicide-risk grounds; empty when it may."""
    reasons = []
    if not screens and settings.pre_check_cssrs_required:
        reasons.append("C-SSRS screener not done today")
    reasons += needs_review(screens, open_alerts, reviews)
    if reviews and reviews[-1].decision is ReviewDecision.DO_NOT_PROCEED:
        reasons.append(f"suicide-risk review by {reviews[-1].reviewed_by}: do not proceed ({reviews[-1].note})")
    return tuple(reasons)


def day_risk_above_low(screens: tuple[CssrsScreen, ...], reviews: tuple[SuicideRiskReview, ...]) -> bool:
    """The day's risk was above low: a moderate or high screener, or a moderate or high alert open at a review."""
    return any(screen.risk.rank > CssrsRisk.LOW.rank for screen in screens) or any(
        alert.level is not AlertLevel.LOW for review in reviews for alert in review.alerts)
