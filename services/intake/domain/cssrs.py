"""C-SSRS screener (screen version, past month): yes/no items with the screener's skip logic, and the risk level.

Items 1, 2 and 6 are always asked; 3-5 only when item 2 is yes; 6b ("within the past 3 months") only when 6 is
yes. A follow-up item answered yes while its gate item is no is contradictory and refused. Which items make the
risk high or moderate is clinic configuration (defaults: intent, plan with intent, or behaviour in the past
3 months → high; method or lifetime behaviour → moderate; any other yes → low).
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord


class CssrsItem(enum.Enum):
    WISH_TO_BE_DEAD = "wish-to-be-dead"  # 1
    SUICIDAL_THOUGHTS = "suicidal-thoughts"  # 2
    IDEATION_WITH_METHOD = "ideation-with-method"  # 3
    IDEATION_WITH_INTENT = "ideation-with-intent"  # 4
    IDEATION_WITH_PLAN_AND_INTENT = "ideation-with-plan-and-intent"  # 5
    SUICIDAL_BEHAVIOUR_LIFETIME = "suicidal-behaviour-lifetime"  # 6
    SUICIDAL_BEHAVIOUR_PAST_3_MONTHS = "suicidal-behaviour-past-3-months"  # 6b


ALWAYS_ASKED = (CssrsItem.WISH_TO_BE_DEAD, CssrsItem.SUICIDAL_THOUGHTS, CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME)
# Follow-up item → the gate item that must be yes for it to be asked.
GATED_BY: dict[CssrsItem, CssrsItem] = {
    CssrsItem.IDEATION_WITH_METHOD: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.IDEATION_WITH_INTENT: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT: CssrsItem.SUICIDAL_THOUGHTS,
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS: CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME,
}

DEFAULT_CSSRS_HIGH_RISK_ITEMS: tuple[str, ...] = (
    CssrsItem.IDEATION_WITH_INTENT.value,
    CssrsItem.IDEATION_WITH_PLAN_AND_INTENT.value,
    CssrsItem.SUICIDAL_BEHAVIOUR_PAST_3_MONTHS.value,
)
DEFAULT_CSSRS_MODERATE_RISK_ITEMS: tuple[str, ...] = (
    CssrsItem.IDEATION_WITH_METHOD.value,
    CssrsItem.SUICIDAL_BEHAVIOUR_LIFETIME.value,
)


class CssrsRisk(enum.Enum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


@dataclass(frozen=True)
class CssrsAnswer(JsonRecord):
    item: CssrsItem
    answer: bool


@dataclass(frozen=True)
class CssrsScreen(JsonRecord):
    """Answers in screener order (items not asked are absent) and the risk computed when recorded."""

    answers: tuple[CssrsAnswer, ...]
    answered_at: datetime
    risk: CssrsRisk

    def answer_for(self, item: CssrsItem) -> bool | None:
        return next((a.answer for a in self.answers if a.item is item), None)

    def endorsed_items(self) -> tuple[CssrsItem, ...]:
        return tuple(a.item for a in self.answers if a.answer)


def cssrs_risk(
    answers: Mapping[CssrsItem, bool], high_risk_items: tuple[str, ...], moderate_risk_items: tuple[str, ...]
) -> CssrsRisk:
    endorsed = {item.value for item, answer in answers.items() if answer}
    if endorsed & set(high_risk_items):
        return CssrsRisk.HIGH
    if endorsed & set(moderate_risk_items):
        return CssrsRisk.MODERATE
    return CssrsRisk.LOW if endorsed else CssrsRisk.NONE
