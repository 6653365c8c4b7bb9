"""The review of given versus ordered (issue 13 defect 19): once the administration record is saved, a clinician
looks at the dose the pump actually delivered against the order and records that they did (who, when, the numbers
they saw). Discharge waits for it; saving the administration record again with other totals withdraws it, so a
review always refers to the record as it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.administration import AdministrationRecord
from services.documentation.domain.checks import require_aware, require_person
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person

_ROUNDING_MG = 0.05  # the review is of the mg shown to one decimal


@dataclass(frozen=True)
class AdministrationReview(DocumentationRecord):
    reviewed_by: Person
    reviewed_at: datetime
    given_mg: float
    ordered_mg: float
    comment: str = ""

    def __post_init__(self) -> None:
        require_person(self.reviewed_by, "reviewed_by")
        require_aware(self.reviewed_at, "reviewed_at")

    @property
    def deviation_percent(self) -> float:
        return (self.given_mg - self.ordered_mg) / self.ordered_mg * 100 if self.ordered_mg else 0.0

    def matches(self, record: AdministrationRecord) -> bool:
        """Whether the review still refers to this record's totals."""
        return abs(round(record.total_mg, 1) - self.given_mg) <= _ROUNDING_MG and (
            record.ordered_dose_mg is None or abs(record.ordered_dose_mg - self.ordered_mg) <= _ROUNDING_MG
        )


def review_administration(
    record: AdministrationRecord | None, by: Person, at: datetime, comment: str, tolerance_percent: float
) -> AdministrationReview:
    """A review of the record as it stands; beyond the dose tolerance the reviewer says what they make of it."""
    if record is None:
        raise TransitionNotAllowed("no administration record to review: record what was given first")
    if at < record.stopped_at:
        raise DocumentationInputError("at", "before the pump stopped")
    ordered_mg = record.ordered_dose_mg or 0.0
    deviation = record.dose_deviation_percent or 0.0
    if abs(deviation) > tolerance_percent and not comment.strip():
        raise DocumentationInputError(
            "comment", f"given {record.total_mg:.1f} mg vs ordered {ordered_mg:g} mg ({deviation:+.1f}%, tolerance "
                       f"{tolerance_percent:g}%): say what you make of the difference")
    return AdministrationReview(reviewed_by=by, reviewed_at=at, given_mg=round(record.total_mg, 1),
                                ordered_mg=ordered_mg, comment=comment.strip())
