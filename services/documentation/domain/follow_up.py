"""The next-day follow-up call after discharge: a task for a named owner, due on the next clinic day, requested
at discharge and completed with its outcome (issue 13, "discharge instructions + follow-up call"). Emergence
phenomena can recur up to 24 h after ketamine (label): the call asks how the night went and whether the
instructions were kept. Sent to the EHR as a FHIR Task (``translators/task_follow_up_out.py``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from services.documentation.domain.checks import require_aware, require_person
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed
from services.documentation.domain.records import DocumentationRecord
from shared.clinic_time import current_clinic_zone
from shared.people import Person

_DAYS_IN_WEEK = 7


class FollowUpStatus(enum.Enum):
    """FHIR Task.status values used."""

    REQUESTED = "requested"
    COMPLETED = "completed"


class FollowUpOutcome(enum.Enum):
    """What the call found (local codes, ``translators/codes.py``)."""

    REACHED_WELL = "reached-well"  # reached, no concerns
    REACHED_CONCERNS = "reached-concerns"  # reached, concerns raised and acted on (say what in the note)
    NOT_REACHED = "not-reached"  # no answer after the clinic's attempts (say what was done)


@dataclass(frozen=True)
class FollowUpCall(DocumentationRecord):
    owner: Person
    due_on: date
    requested_at: datetime
    status: FollowUpStatus = FollowUpStatus.REQUESTED
    outcome: FollowUpOutcome | None = None
    outcome_note: str = ""
    completed_by: Person | None = None
    completed_at: datetime | None = None

    def __post_init__(self) -> None:
        require_person(self.owner, "owner")
        require_aware(self.requested_at, "requested_at")
        if not isinstance(self.due_on, date) or isinstance(self.due_on, datetime):
            raise DocumentationInputError("due_on", "expected a date")
        if self.status is FollowUpStatus.COMPLETED:
            if self.outcome is None:
                raise DocumentationInputError("outcome", "a completed call records its outcome")
            require_person(self.completed_by, "completed_by")
            if self.completed_at is None:
                raise DocumentationInputError("completed_at", "required on a completed call")
            require_aware(self.completed_at, "completed_at")


def next_clinic_day(discharged_on: date, clinic_weekdays: tuple[int, ...]) -> date:
    """The first clinic weekday after ``discharged_on`` (ISO weekdays, 1 = Monday)."""
    for days_ahead in range(1, _DAYS_IN_WEEK + 1):
        candidate = discharged_on + timedelta(days=days_ahead)
        if candidate.isoweekday() in clinic_weekdays:
            return candidate
    raise DocumentationInputError("follow_up_clinic_weekdays", "no clinic weekday configured")


def request_follow_up(owner: Person, discharged_at: datetime, clinic_weekdays: tuple[int, ...]) -> FollowUpCall:
    """Requested at discharge, due on the next clinic day after the discharge date in the clinic's zone (not the
    time's own offset: a discharge at 18:30 in Chicago charted by the API as "now" is 00:30 UTC the next day, and
    the call fell two days later, past the 24 h in which emergence phenomena can recur)."""
    discharged_on = discharged_at.astimezone(current_clinic_zone()).date()
    return FollowUpCall(owner=owner, due_on=next_clinic_day(discharged_on, clinic_weekdays),
                        requested_at=discharged_at)


def complete_follow_up(call: FollowUpCall, outcome: FollowUpOutcome, note: str, by: Person,
                       at: datetime) -> FollowUpCall:
    """Record the call's outcome; an outcome other than "reached, well" needs a note saying what was done."""
    if call.status is FollowUpStatus.COMPLETED:
        outcome_done = call.outcome.value if call.outcome else "no outcome"
        raise TransitionNotAllowed(f"the follow-up call was already completed ({outcome_done})")
    require_aware(at, "at")
    if at < call.requested_at:
        raise DocumentationInputError("at", "before the call was requested at discharge")
    if outcome is not FollowUpOutcome.REACHED_WELL and not note.strip():
        raise DocumentationInputError("note", f"say what was done ({outcome.value})")
    return replace(call, status=FollowUpStatus.COMPLETED, outcome=outcome, outcome_note=note.strip(),
                   completed_by=by, completed_at=at)
