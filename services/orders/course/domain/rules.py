"""Outcome rules with their thresholds, so a stored outcome says which rule it was judged by ("MADRS ≤ 12", "≥ 50%
drop from baseline") and a clinic's choice is part of the record, not hidden in code.

Response and loss of response compare a score with the baseline without dividing
(``(baseline − score) × 100 ≥ pct × baseline``), so 50% of an odd baseline is never lost to rounding.
A baseline of 0 leaves response undefined (no drop can be measured): ``met`` then answers None and the caller says
why."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.records import JsonRecord
from shared.scales import DEFINITIONS, Scale


class Comparison(enum.Enum):
    BELOW = "below"  # score < threshold
    AT_MOST = "at-most"  # score <= threshold

    @property
    def symbol(self) -> str:
        return "<" if self is Comparison.BELOW else "<="

    def holds(self, score: float, threshold: float) -> bool:
        return score < threshold if self is Comparison.BELOW else score <= threshold


@dataclass(frozen=True)
class RemissionRule(JsonRecord):
    """Remission on ``scale``: the score compared with ``threshold`` (PHQ-9 < 5, MADRS ≤ 10)."""

    scale: Scale
    comparison: Comparison
    threshold: float

    def met_by(self, total: int) -> bool:
        return self.comparison.holds(total, self.threshold)

    @property
    def text(self) -> str:
        symbol = "<" if self.comparison is Comparison.BELOW else "≤"
        return f"{DEFINITIONS[self.scale].name} {symbol} {self.threshold:g}"


@dataclass(frozen=True)
class ResponseRule(JsonRecord):
    """Response: the score dropped by at least ``min_drop_pct`` percent of the baseline."""

    min_drop_pct: float

    def met(self, baseline: int, total: int) -> bool | None:
        """None when the baseline is 0 or less: a percentage drop from nothing is undefined."""
        return _dropped_at_least(baseline, total, self.min_drop_pct)

    @property
    def text(self) -> str:
        return f"≥ {self.min_drop_pct:g}% drop from baseline"


@dataclass(frozen=True)
class LossOfResponseRule(JsonRecord):
    """Loss of response after a response: ``consecutive_scores`` scores in a row whose drop from the baseline is
    below ``drop_below_pct`` percent. (Not a relapse: a patient can lose a response without ever having remitted;
    relapse after remission is ``RelapseRule``.)"""

    drop_below_pct: float
    consecutive_scores: int

    def lost(self, baseline: int, total: int) -> bool:
        return _dropped_at_least(baseline, total, self.drop_below_pct) is False

    @property
    def text(self) -> str:
        return (f"{self.consecutive_scores} consecutive scores with < {self.drop_below_pct:g}% drop from baseline "
                "after a response")


@dataclass(frozen=True)
class RelapseRule(JsonRecord):
    """Relapse after remission on ``scale``: ``consecutive_scores`` scores in a row at or above ``min_score`` after a
    score that met the remission rule (SUSTAIN-1: MADRS ≥ 22 on two consecutive assessments; None: no score
    criterion on this scale), or a hospitalisation or suicide attempt recorded after remission when
    ``clinical_events`` is on."""

    scale: Scale
    min_score: float | None
    consecutive_scores: int
    clinical_events: bool = True

    derived_fields = ("text",)

    def relapsed_score(self, total: int) -> bool:
        return self.min_score is not None and total >= self.min_score

    @property
    def text(self) -> str:
        criteria = []
        if self.min_score is not None:
            criteria.append(f"{DEFINITIONS[self.scale].name} ≥ {self.min_score:g} on {self.consecutive_scores} "
                            "consecutive assessments")
        if self.clinical_events:
            criteria.append("a hospitalisation or suicide attempt")
        return f"after remission, {' or '.join(criteria)}"


def drop_pct(baseline: int, total: int) -> float | None:
    """Percentage drop from the baseline (negative when worse); None for a baseline of 0."""
    if baseline <= 0:
        return None
    return round((baseline - total) * 100 / baseline, 1)


def _dropped_at_least(baseline: int, total: int, pct: float) -> bool | None:
    if baseline <= 0:
        return None
    return (baseline - total) * 100 >= pct * baseline
