"""PHQ-9 and MADRS as the intake records them: item answers as given; totals are always computed from the items,
never entered. Checking and scoring live in shared/scales.py (one place for every service); this module keeps the
intake's records and turns a ScaleError into an IntakeInputError under the scale's prefix (``phq9.items[8]``)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.checks import require_aware
from services.intake.domain.errors import IntakeInputError
from shared.people import Person
from shared.records import JsonRecord
from shared.scales import DEFINITIONS, Scale, ScaleError, checked_items, suicidality_item_score, total_score

PHQ9_ITEM_COUNT = DEFINITIONS[Scale.PHQ9].item_count
PHQ9_ITEM_MAX = DEFINITIONS[Scale.PHQ9].item_max
PHQ9_SUICIDALITY_ITEM = DEFINITIONS[Scale.PHQ9].suicidality_item  # "better off dead or of hurting yourself"
MADRS_ITEM_COUNT = DEFINITIONS[Scale.MADRS].item_count
MADRS_ITEM_MAX = DEFINITIONS[Scale.MADRS].item_max


@dataclass(frozen=True)
class Phq9Response(JsonRecord):
    item_scores: tuple[int, ...]  # items 1..9 in order, each 0-3
    answered_at: datetime

    @property
    def total_score(self) -> int:
        return total_score(Scale.PHQ9, self.item_scores)

    @property
    def suicidality_flag(self) -> bool:
        """Item 9 above 0: any thoughts of being better off dead or of self-harm."""
        return (suicidality_item_score(Scale.PHQ9, self.item_scores) or 0) > 0

    @classmethod
    def checked(cls, item_scores: Sequence[int | None], answered_at: datetime) -> Phq9Response:
        """Validated response; IntakeInputError names the first missing or out-of-range item
        (``phq9.items[8]`` for item 9)."""
        scores = _checked_items("phq9", Scale.PHQ9, item_scores)
        return cls(scores, require_aware(answered_at, "phq9.answered_at"))


@dataclass(frozen=True)
class MadrsRating(JsonRecord):
    item_scores: tuple[int, ...]  # items 1..10 in order, each 0-6
    rated_at: datetime
    rated_by: Person | None = None

    @property
    def total_score(self) -> int:
        return total_score(Scale.MADRS, self.item_scores)

    @property
    def suicidality_item(self) -> int:
        """Item 10 (suicidal thoughts, 0-6)."""
        return suicidality_item_score(Scale.MADRS, self.item_scores) or 0

    @classmethod
    def checked(
        cls, item_scores: Sequence[int | None], rated_at: datetime, rated_by: Person | None = None
    ) -> MadrsRating:
        scores = _checked_items("madrs", Scale.MADRS, item_scores)
        return cls(scores, require_aware(rated_at, "madrs.rated_at"), rated_by)


def _checked_items(prefix: str, scale: Scale, item_scores: Sequence[int | None]) -> tuple[int, ...]:
    try:
        return checked_items(scale, item_scores)
    except ScaleError as error:
        raise IntakeInputError(f"{prefix}.{error.field}", error.message) from None
