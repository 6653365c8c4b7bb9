"""The C-SSRS screener (screen version, past month) as the intake records it: the answers in screener order and the
risk computed when recorded.

The items, the skip logic and the risk rule live in shared/scales.py and are re-exported here for the intake's
callers; which items make the risk high or moderate is intake configuration (``IntakeSettings``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord
from shared.scales import (
    ALWAYS_ASKED,
    DEFAULT_CSSRS_HIGH_RISK_ITEMS,
    DEFAULT_CSSRS_MODERATE_RISK_ITEMS,
    GATED_BY,
    CssrsAnswer,
    CssrsItem,
    CssrsRisk,
    cssrs_risk,
)

__all__ = [
    "ALWAYS_ASKED", "DEFAULT_CSSRS_HIGH_RISK_ITEMS", "DEFAULT_CSSRS_MODERATE_RISK_ITEMS", "GATED_BY", "CssrsAnswer",
    "CssrsItem", "CssrsRisk", "CssrsScreen", "cssrs_risk",
]


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
