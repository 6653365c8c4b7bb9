"""When an infusion may begin: inside its scheduled window, and not sooner than the clinic's minimum interval after
the patient's previous infusion (issue 13 defect 6). Both are checked at check-in, the first step of the day.

Either rule may be set aside only by a prescriber's documented decision (``ScheduleOverride``: who, when, why, and
the rules it set aside, kept on the session and in its history), e.g. a patient who could only come a day early.
The window comes from the order (orders moves the next window on when an infusion is given, so the next window
never starts on the day after it: ``ORDERS_MIN_DAYS_BETWEEN_INFUSIONS``); the interval is checked here in hours
(``DOCUMENTATION_MIN_HOURS_BETWEEN_INFUSIONS``) against the infusions this service charted in the same series."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError, TransitionNotAllowed, input_field
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from shared.people import Person

OVERRIDE_HINT = "a prescriber may override with a documented reason"


@dataclass(frozen=True)
class ScheduleOverride(DocumentationRecord):
    """A prescriber's decision to begin outside the window or sooner than the minimum interval. ``rules`` are the
    refusals it set aside, as the clinician saw them."""

    reason: str
    overridden_by: Person
    overridden_at: datetime
    rules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_text(self.reason, "reason")
        require_person(self.overridden_by, "overridden_by")
        require_aware(self.overridden_at, "overridden_at")


class ScheduleRefused(TransitionNotAllowed):
    """Check-in refused by the window or the interval rule (409): ``failing`` are the rules a prescriber may set aside
    with a reason, which the session page offers to do (any other refusal of a check-in cannot be overridden)."""


def schedule_problems(at: datetime, window_start: datetime, window_end: datetime,
                      previous_infusion_at: datetime | None, settings: SessionSettings) -> tuple[str, ...]:
    """Every reason the infusion should not begin at ``at``; empty when it may."""
    problems = []
    window = f"{window_start.isoformat(timespec='minutes')} to {window_end.isoformat(timespec='minutes')}"
    if at < window_start:
        problems.append(f"before the infusion's scheduled window ({window})")
    elif at > window_end:
        problems.append(f"after the infusion's scheduled window ({window})")
    if previous_infusion_at is not None and previous_infusion_at <= at:
        hours = (at - previous_infusion_at).total_seconds() / 3600
        if hours < settings.min_hours_between_infusions:
            problems.append(f"{hours:.1f} h after the previous infusion (started "
                            f"{previous_infusion_at.isoformat(timespec='minutes')}); the clinic's minimum is "
                            f"{settings.min_hours_between_infusions} h")
    return tuple(problems)


def previous_infusion(starts: Iterable[datetime | None], at: datetime) -> datetime | None:
    """The latest infusion start at or before ``at`` among ``starts`` (the patient's other sessions)."""
    earlier = [start for start in starts if start is not None and start <= at]
    return max(earlier) if earlier else None


def allowed_start(problems: tuple[str, ...], override_reason: str, override_by: Person | None,
                  at: datetime) -> ScheduleOverride | None:
    """None when nothing is wrong; the override when a prescriber set the problems aside with a reason; otherwise
    refuses (409) with every problem."""
    if not problems:
        return None
    if not (override_reason or "").strip():
        raise ScheduleRefused("check-in refused: " + "; ".join(problems) + f" ({OVERRIDE_HINT})", problems)
    with input_field("override"):
        if override_by is None:
            raise DocumentationInputError("overridden_by", "the prescriber who decided the override is required")
        return ScheduleOverride(override_reason.strip(), override_by, at, problems)
