"""CADSS dissociation ratings: the full 23-item scale or the 6-item short form (items 1, 2, 6, 7, 15, 22).

Item numbers and the 0-4 item range define the instrument (not clinic settings); scores are kept in the form's
item order so ``item_scores[i]`` is the i-th item of ``form.items``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person

CADSS_ITEM_MIN_SCORE = 0
CADSS_ITEM_MAX_SCORE = 4
CADSS_FULL_ITEMS = tuple(range(1, 24))
CADSS_SHORT_ITEMS = (1, 2, 6, 7, 15, 22)


class CadssForm(enum.Enum):
    FULL = "cadss-23"
    SHORT = "cadss-6"

    @property
    def items(self) -> tuple[int, ...]:
        return CADSS_FULL_ITEMS if self is CadssForm.FULL else CADSS_SHORT_ITEMS

    @property
    def max_total(self) -> int:
        return len(self.items) * CADSS_ITEM_MAX_SCORE


@dataclass(frozen=True)
class CadssAssessment(DocumentationRecord):
    """One rating. ``scheduled_minute`` is the configured minute-after-start it fulfils, ``end_of_recovery`` marks
    the end-of-recovery rating; neither set means an unscheduled rating (e.g. when dissociation looks marked)."""

    assessment_id: str
    form: CadssForm
    item_scores: tuple[int, ...]
    assessed_at: datetime
    assessed_by: Person
    scheduled_minute: int | None = None
    end_of_recovery: bool = False

    def __post_init__(self) -> None:
        require_text(self.assessment_id, "assessment_id")
        require_aware(self.assessed_at, "assessed_at")
        require_person(self.assessed_by, "assessed_by")
        items = self.form.items
        if len(self.item_scores) != len(items):
            raise DocumentationInputError(
                "item_scores", f"{self.form.value} has {len(items)} items, got {len(self.item_scores)} scores"
            )
        for index, (item, score) in enumerate(zip(items, self.item_scores, strict=True)):
            if isinstance(score, bool) or not isinstance(score, int):
                raise DocumentationInputError(f"item_scores[{index}]", f"item {item}: expected an integer")
            if not CADSS_ITEM_MIN_SCORE <= score <= CADSS_ITEM_MAX_SCORE:
                raise DocumentationInputError(
                    f"item_scores[{index}]",
                    f"item {item}: score {score} outside {CADSS_ITEM_MIN_SCORE}-{CADSS_ITEM_MAX_SCORE}",
                )
        if self.scheduled_minute is not None and self.end_of_recovery:
            raise DocumentationInputError("end_of_recovery", "a rating fulfils one timepoint, not two")

    @property
    def total(self) -> int:
        return sum(self.item_scores)

    @property
    def item_scores_by_number(self) -> dict[int, int]:
        return dict(zip(self.form.items, self.item_scores, strict=True))

    def timepoint_text(self) -> str:
        if self.scheduled_minute is not None:
            return f"{self.scheduled_minute} min after start"
        return "end of recovery" if self.end_of_recovery else "unscheduled"


@dataclass(frozen=True)
class CadssNotRated(DocumentationRecord):
    """A scheduled CADSS timepoint that was not rated, and why (patient asleep, declined, distressed ...): a
    scheduled rating needs a score or this before discharge, and the note lists it (issue 13 defect 11)."""

    reason: str
    recorded_by: Person
    recorded_at: datetime
    scheduled_minute: int | None = None
    end_of_recovery: bool = False

    def __post_init__(self) -> None:
        require_text(self.reason, "reason")
        require_person(self.recorded_by, "recorded_by")
        require_aware(self.recorded_at, "recorded_at")
        if (self.scheduled_minute is None) == (not self.end_of_recovery):
            raise DocumentationInputError(
                "scheduled_minute", "name one scheduled timepoint: a minute after the start or the end of recovery"
            )

    def timepoint_text(self) -> str:
        return f"{self.scheduled_minute} min after start" if self.scheduled_minute is not None else "end of recovery"

    def same_timepoint(self, scheduled_minute: int | None, end_of_recovery: bool) -> bool:
        if self.end_of_recovery:
            return end_of_recovery
        return scheduled_minute is not None and scheduled_minute == self.scheduled_minute
