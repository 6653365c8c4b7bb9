"""PHQ-9 and MADRS: item answers as given; totals are always computed from the items, never entered."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.checks import require_aware
from services.intake.domain.errors import IntakeInputError
from shared.records import JsonRecord

PHQ9_ITEM_COUNT = 9
PHQ9_ITEM_MAX = 3
PHQ9_SUICIDALITY_ITEM = 9  # "thoughts that you would be better off dead or of hurting yourself"
MADRS_ITEM_COUNT = 10
MADRS_ITEM_MAX = 6


@dataclass(frozen=True)
class Phq9Response(JsonRecord):
    item_scores: tuple[int, ...]  # items 1..9 in order, each 0-3
    answered_at: datetime

    @property
    def total_score(self) -> int:
        return sum(self.item_scores)

    @property
    def suicidality_flag(self) -> bool:
        """Item 9 above 0: any thoughts of being better off dead or of self-harm."""
        return self.item_scores[PHQ9_SUICIDALITY_ITEM - 1] > 0

    @classmethod
    def checked(cls, item_scores: Sequence[int | None], answered_at: datetime) -> Phq9Response:
        """Validated response; IntakeInputError names the first missing or out-of-range item
        (``phq9.items[8]`` for item 9)."""
        scores = _checked_items("phq9", item_scores, PHQ9_ITEM_COUNT, PHQ9_ITEM_MAX)
        return cls(scores, require_aware(answered_at, "phq9.answered_at"))


@dataclass(frozen=True)
class MadrsRating(JsonRecord):
    item_scores: tuple[int, ...]  # items 1..10 in order, each 0-6
    rated_at: datetime
    rated_by: str | None = None

    @property
    def total_score(self) -> int:
        return sum(self.item_scores)

    @classmethod
    def checked(
        cls, item_scores: Sequence[int | None], rated_at: datetime, rated_by: str | None = None
    ) -> MadrsRating:
        scores = _checked_items("madrs", item_scores, MADRS_ITEM_COUNT, MADRS_ITEM_MAX)
        return cls(scores, require_aware(rated_at, "madrs.rated_at"), rated_by)


def _checked_items(scale: str, item_scores: Sequence[int | None], count: int, item_max: int) -> tuple[int, ...]:
    """Paths index the list from 0 like JSON (``phq9.items[8]`` is item 9); messages name the item number."""
    if isinstance(item_scores, (str, bytes)) or not isinstance(item_scores, Sequence):
        raise IntakeInputError(f"{scale}.items", f"expected a list of {count} item scores")
    if len(item_scores) > count:
        raise IntakeInputError(f"{scale}.items", f"expected {count} items, got {len(item_scores)}")
    scores = []
    for number in range(1, count + 1):
        score = item_scores[number - 1] if number <= len(item_scores) else None
        field = f"{scale}.items[{number - 1}]"
        if score is None:
            raise IntakeInputError(field, f"item {number} is required and missing")
        if isinstance(score, bool) or not isinstance(score, int):
            raise IntakeInputError(field, f"item {number} needs an integer score")
        if not 0 <= score <= item_max:
            raise IntakeInputError(field, f"item {number} score {score} is outside 0-{item_max}")
        scores.append(score)
    return tuple(scores)
