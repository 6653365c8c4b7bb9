"""Adverse events during the session, each with severity and outcome and what was done about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person


class AdverseEventKind(enum.Enum):
    """The common ketamine effects (Singh 2016, label); ``other`` needs a description."""

    NAUSEA = "nausea"
    DIZZINESS = "dizziness"
    HEADACHE = "headache"
    ANXIETY = "anxiety"
    EMERGENCE_REACTION = "emergence-reaction"
    HYPERTENSION = "hypertension"
    OTHER = "other"


class Severity(enum.Enum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class AdverseEventOutcome(enum.Enum):
    """Values of the FHIR adverse-event-outcome code system."""

    RESOLVED = "resolved"
    RECOVERING = "recovering"
    ONGOING = "ongoing"
    RESOLVED_WITH_SEQUELAE = "resolvedWithSequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AdverseEventRecord(DocumentationRecord):
    """Recording again with the same ``event_id`` updates the event (e.g. ongoing → resolved)."""

    event_id: str
    kind: AdverseEventKind
    severity: Severity
    outcome: AdverseEventOutcome
    onset_at: datetime
    recorded_by: Person
    description: str = ""
    action_taken: str = ""
    serious: bool = False

    def __post_init__(self) -> None:
        require_text(self.event_id, "event_id")
        require_aware(self.onset_at, "onset_at")
        require_person(self.recorded_by, "recorded_by")
        if self.kind is AdverseEventKind.OTHER and not self.description.strip():
            raise DocumentationInputError("description", "describe an adverse event of kind other")

    def label(self) -> str:
        name = self.kind.value.replace("-", " ")
        return self.description.strip() if self.kind is AdverseEventKind.OTHER else name
