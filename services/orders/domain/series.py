"""Treatment series: the planned infusions of one phase (induction or maintenance) with a window for each.

One series per phase: an induction series, then (once it is completed) maintenance series that replace it, each
with its own order. Windows are computed from a start date and the frequency so that they are contiguous and never
overlap: with f infusions per week, infusion k (0-based) falls in days ⌊7k/f⌋ … ⌊7(k+1)/f⌋ − 1 after the start
(2/week: days 0-2, 3-6, 7-9, 10-13, …; 3/week: 0-1, 2-3, 4-6, …). Maintenance uses the per-patient interval the
same way: infusion k in days k×interval … (k+1)×interval − 1. Infusions are recorded in order (no skipping).

Once an infusion is given, the next window opens no sooner than ``min_days_between_infusions`` after it, so a
3-per-week window never makes the next day normal; an induction infusion that never began is made up by one more
at the end, within the clinic's limits (``makeup_max_infusions``, ``makeup_max_extension_days``), so the patient
still gets the induction's count."""
from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from shared.errors import raise_if_any
from shared.records import JsonRecord
from services.orders.domain.errors import OrdersInputError, Violation
from services.orders.domain.settings import DAYS_PER_WEEK, ProtocolSettings, induction_span_days
from services.orders.domain.timestamps import current_moment, require_aware


class SeriesPhase(enum.Enum):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"


class SeriesStatus(enum.Enum):
    """Follows the order: draft until signed, then active / on-hold, ending completed or revoked (cancelled)."""

    DRAFT = "draft"
    ACTIVE = "active"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    REVOKED = "revoked"


class InfusionStatus(enum.Enum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ScheduledInfusion(JsonRecord):
    """One planned infusion: its number in the series (1-based) and the window of dates (inclusive) to give it."""

    number: int
    window_start: date
    window_end: date
    status: InfusionStatus = InfusionStatus.SCHEDULED
    makeup_for: int | None = None  # the infusion (number) that never began and this one makes up


@dataclass(frozen=True)
class TreatmentSeries(JsonRecord):
    series_id: str
    patient_id: str
    phase: SeriesPhase
    status: SeriesStatus
    infusions: tuple[ScheduledInfusion, ...]
    created_at: datetime
    replaces_series_id: str | None = None  # the series this one follows (maintenance after induction)

    def __post_init__(self) -> None:
        require_aware(self.created_at, "series.created_at")
        if not self.infusions:
            raise OrdersInputError("series.infusions", "a series needs at least one infusion")
        if [i.number for i in self.infusions] != list(range(1, len(self.infusions) + 1)):
            raise OrdersInputError("series.infusions", "infusions must be numbered 1, 2, 3 … in order")

    @property
    def infusion_count(self) -> int:
        return len(self.infusions)

    @property
    def completed_count(self) -> int:
        return sum(1 for i in self.infusions if i.status is InfusionStatus.COMPLETED)

    @property
    def next_scheduled(self) -> ScheduledInfusion | None:
        return next((i for i in self.infusions if i.status is InfusionStatus.SCHEDULED), None)


def induction_windows(start: date, infusion_count: int, infusions_per_week: int) -> list[tuple[date, date]]:
    """Contiguous windows, f per week (see the module docstring)."""
    def offset(k: int) -> int:
        return (DAYS_PER_WEEK * k) // infusions_per_week

    return [(start + timedelta(days=offset(k)), start + timedelta(days=offset(k + 1) - 1))
            for k in range(infusion_count)]


def maintenance_windows(start: date, infusion_count: int, interval_days: int) -> list[tuple[date, date]]:
    return [(start + timedelta(days=k * interval_days), start + timedelta(days=(k + 1) * interval_days - 1))
            for k in range(infusion_count)]


def plan_induction(patient_id: str, start_date: date, settings: ProtocolSettings,
                   infusions_per_week: int | None = None, infusion_count: int | None = None,
                   series_id: str | None = None, now: datetime | None = None) -> TreatmentSeries:
    """A draft induction series from ``start_date``; per-week and count default to the clinic's.

    Raises OrdersInputError for a start in the past, a frequency outside the clinic's range, a count above
    ``induction_max_infusions`` or a schedule longer than ``induction_max_span_days``."""
    now = current_moment(now)
    per_week = settings.induction_infusions_per_week if infusions_per_week is None else infusions_per_week
    count = settings.induction_infusion_count if infusion_count is None else infusion_count
    violations = _start_violations(start_date, now, settings)
    per_week_allowed = (settings.induction_min_infusions_per_week <= per_week
                        <= settings.induction_max_infusions_per_week)
    if not per_week_allowed:
        violations.append(Violation(
            "infusions_per_week", f"{per_week} per week is outside the clinic's "
            f"{settings.induction_min_infusions_per_week}-{settings.induction_max_infusions_per_week} per week"))
    if not 1 <= count <= settings.induction_max_infusions:
        violations.append(Violation(
            "infusion_count", f"{count} infusions is outside 1-{settings.induction_max_infusions} for an induction"))
    elif per_week_allowed and induction_span_days(count, per_week) > settings.induction_max_span_days:
        violations.append(Violation(
            "infusion_count", f"{count} infusions at {per_week} per week take {induction_span_days(count, per_week)}"
            f" days, more than the clinic's {settings.induction_max_span_days}"))
    raise_if_any(violations, OrdersInputError)
    try:
        windows = induction_windows(start_date, count, per_week)
    except OverflowError:  # a start near the end of the calendar (9999): its windows run past it
        raise OrdersInputError("start_date", f"{start_date.isoformat()} is too far ahead to plan a series") from None
    return _draft_series(series_id, patient_id, SeriesPhase.INDUCTION, windows, now, None)


def plan_maintenance(previous: TreatmentSeries, start_date: date, interval_days: int, infusion_count: int,
                     settings: ProtocolSettings, series_id: str | None = None,
                     now: datetime | None = None) -> TreatmentSeries:
    """A draft maintenance series following a completed series, one infusion every ``interval_days`` (set per
    patient, within the clinic's range)."""
    now = current_moment(now)
    violations = _start_violations(start_date, now, settings)
    if previous.status is not SeriesStatus.COMPLETED:
        violations.append(Violation("previous.status", f"maintenance follows a completed series; "
                                                       f"series {previous.series_id} is {previous.status.value}"))
    if not settings.maintenance_min_interval_days <= interval_days <= settings.maintenance_max_interval_days:
        violations.append(Violation(
            "interval_days", f"{interval_days} days is outside the clinic's "
            f"{settings.maintenance_min_interval_days}-{settings.maintenance_max_interval_days} days"))
    if infusion_count < 1:
        violations.append(Violation("infusion_count", "a maintenance series needs at least one infusion"))
    raise_if_any(violations, OrdersInputError)
    try:
        windows = maintenance_windows(start_date, infusion_count, interval_days)
    except OverflowError:  # a start near the end of the calendar (9999): its windows run past it
        raise OrdersInputError("start_date", f"{start_date.isoformat()} is too far ahead to plan a series") from None
    return _draft_series(series_id, previous.patient_id, SeriesPhase.MAINTENANCE, windows, now, previous.series_id)


def record_infusion(series: TreatmentSeries, number: int, outcome: InfusionStatus, given_on: date | None = None,
                    settings: ProtocolSettings | None = None) -> TreatmentSeries:
    """Mark infusion ``number`` completed or cancelled (e.g. from documentation's ``session-completed``).

    Only in an active series, only a scheduled infusion, and in order: every earlier infusion must already be
    completed or cancelled. With ``settings``: a completed infusion given on ``given_on`` moves the next window's
    start to at least ``min_days_between_infusions`` later (so a 3-per-week window never makes the next day
    normal), and a cancelled induction infusion is made up at the end of the series (``makeup_infusion``)."""
    if outcome is InfusionStatus.SCHEDULED:
        raise OrdersInputError("outcome", "an infusion can only be recorded as completed or cancelled")
    if series.status is not SeriesStatus.ACTIVE:
        raise OrdersInputError("series.status", f"infusions are recorded only in an active series, "
                                                f"this one is {series.status.value}")
    if not 1 <= number <= series.infusion_count:
        raise OrdersInputError("number", f"the series has infusions 1-{series.infusion_count}, not {number}")
    target = series.infusions[number - 1]
    if target.status is not InfusionStatus.SCHEDULED:
        raise OrdersInputError("number", f"infusion {number} is already {target.status.value}")
    if series.next_scheduled is not target:
        raise OrdersInputError("number", f"infusion {series.next_scheduled.number} comes before infusion {number}")
    infusions = tuple(replace(i, status=outcome) if i.number == number else i for i in series.infusions)
    series = replace(series, infusions=infusions)
    if settings is None:
        return series
    if outcome is InfusionStatus.CANCELLED:
        return makeup_infusion(series, number, settings) or series
    return series if given_on is None else spaced_after(series, number, given_on, settings)


def spaced_after(series: TreatmentSeries, number: int, given_on: date, settings: ProtocolSettings
                 ) -> TreatmentSeries:
    """The series with infusion ``number + 1``'s window starting no sooner than ``min_days_between_infusions``
    after ``given_on`` (its end moved with it when the window would otherwise close before it opens)."""
    if number >= series.infusion_count:
        return series
    following = series.infusions[number]
    earliest = given_on + timedelta(days=settings.min_days_between_infusions)
    if following.status is not InfusionStatus.SCHEDULED or following.window_start >= earliest:
        return series
    moved = replace(following, window_start=earliest, window_end=max(following.window_end, earliest))
    return replace(series, infusions=tuple(moved if i.number == moved.number else i for i in series.infusions))


def makeup_infusion(series: TreatmentSeries, missed_number: int, settings: ProtocolSettings
                    ) -> TreatmentSeries | None:
    """The induction series with one more infusion making up ``missed_number`` (which never began), in a window as
    long as the missed one's, starting ``min_days_between_infusions`` after the last window opens (and no sooner
    than the day after it closes); None when no make-up is allowed: a maintenance series, ``makeup_max_infusions``
    already added, or a window ending more than ``makeup_max_extension_days`` after the planned last day."""
    if series.phase is not SeriesPhase.INDUCTION or series.status is not SeriesStatus.ACTIVE:
        return None
    if sum(1 for i in series.infusions if i.makeup_for is not None) >= settings.makeup_max_infusions:
        return None
    missed = series.infusions[missed_number - 1]
    planned_end = max(i.window_end for i in series.infusions if i.makeup_for is None)
    last = series.infusions[-1]
    start = max(last.window_start + timedelta(days=settings.min_days_between_infusions),
                last.window_end + timedelta(days=1))
    end = start + (missed.window_end - missed.window_start)
    if end > planned_end + timedelta(days=settings.makeup_max_extension_days):
        return None
    added = ScheduledInfusion(series.infusion_count + 1, start, end, makeup_for=missed_number)
    return replace(series, infusions=series.infusions + (added,))


def series_ended(series: TreatmentSeries) -> bool:
    """No infusion is left to give (each completed or cancelled): the response check is due, however many were
    given."""
    return series.next_scheduled is None


def reevaluation_due(series: TreatmentSeries, settings: ProtocolSettings,
                     last_infusion_on: date | None = None) -> date | None:
    """When the patient is due for re-evaluation: ``reevaluation_days_after_induction`` after the last induction
    infusion, i.e. the day it was given when known (``last_infusion_on``), else the end of its planned window.
    None for a maintenance series, or when every infusion was cancelled."""
    if series.phase is not SeriesPhase.INDUCTION:
        return None
    if last_infusion_on is None:
        given_or_planned = [i for i in series.infusions if i.status is not InfusionStatus.CANCELLED]
        if not given_or_planned:
            return None
        last_infusion_on = given_or_planned[-1].window_end
    return last_infusion_on + timedelta(days=settings.reevaluation_days_after_induction)


def with_status(series: TreatmentSeries, status: SeriesStatus) -> TreatmentSeries:
    """The series in ``status``; ending it (completed / revoked) cancels the infusions still scheduled."""
    infusions = series.infusions
    if status in (SeriesStatus.COMPLETED, SeriesStatus.REVOKED):
        infusions = tuple(replace(i, status=InfusionStatus.CANCELLED) if i.status is InfusionStatus.SCHEDULED
                          else i for i in infusions)
    return replace(series, status=status, infusions=infusions)


def _start_violations(start_date: date, now: datetime, settings: ProtocolSettings) -> list[Violation]:
    """A series starts on the clinic's today at the earliest (a past window would be missed as soon as planned) and
    ``series_start_max_days_ahead`` after it at the latest (a mistyped year is not a plan)."""
    today = settings.clinic_date(now)
    if start_date < today:
        return [Violation("start_date", f"the series cannot start in the past ({start_date.isoformat()})")]
    if (start_date - today).days > settings.series_start_max_days_ahead:
        return [Violation("start_date", f"{start_date.isoformat()} is more than the clinic's "
                                        f"{settings.series_start_max_days_ahead} days ahead; a series starts "
                                        "within that time")]
    return []


def _draft_series(series_id: str | None, patient_id: str, phase: SeriesPhase, windows: list[tuple[date, date]],
                  now: datetime, replaces_series_id: str | None) -> TreatmentSeries:
    infusions = tuple(ScheduledInfusion(k + 1, start, end) for k, (start, end) in enumerate(windows))
    return TreatmentSeries(series_id or str(uuid.uuid4()), patient_id, phase, SeriesStatus.DRAFT, infusions, now,
                           replaces_series_id)
