"""The administration record: actual start/stop, rate changes, pauses, totals given, drug lot and expiry.

Totals are computed from the rate segments less the pauses, or entered; either way the mg given is checked against
the ordered dose, and a difference beyond the clinic's tolerance needs a reason (an infusion stopped early for
hypertension is a legitimate short dose, but it must be said). The concentration defaults to the order's
(ordered mg in ordered volume) when the nurse does not enter the prepared one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from services.documentation.domain.checks import require_aware, require_positive, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError, input_field
from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from shared.people import Person

_SECONDS_PER_MIN = 60
_MIN_PER_HOUR = 60


@dataclass(frozen=True)
class RateChange(DocumentationRecord):
    """The pump rate from ``at`` until the next change or the stop."""

    at: datetime
    rate_ml_per_h: float

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        require_positive(self.rate_ml_per_h, "rate_ml_per_h")


@dataclass(frozen=True)
class Pause(DocumentationRecord):
    paused_at: datetime
    resumed_at: datetime
    reason: str

    def __post_init__(self) -> None:
        require_aware(self.paused_at, "paused_at")
        require_aware(self.resumed_at, "resumed_at")
        require_text(self.reason, "reason")
        if self.resumed_at <= self.paused_at:
            raise DocumentationInputError("resumed_at", "must be after paused_at")

    @property
    def duration_min(self) -> float:
        return (self.resumed_at - self.paused_at).total_seconds() / _SECONDS_PER_MIN


@dataclass(frozen=True)
class AdministrationRecord(DocumentationRecord):
    started_at: datetime
    stopped_at: datetime
    rate_changes: tuple[RateChange, ...]
    lot_number: str
    lot_expiry: date
    recorded_by: Person
    pauses: tuple[Pause, ...] = ()
    concentration_mg_per_ml: float | None = None
    entered_total_ml: float | None = None
    entered_total_mg: float | None = None
    dose_discrepancy_reason: str = ""
    ordered_dose_mg: float | None = None

    def __post_init__(self) -> None:
        require_aware(self.started_at, "started_at")
        require_aware(self.stopped_at, "stopped_at")
        if self.stopped_at <= self.started_at:
            raise DocumentationInputError("stopped_at", "must be after started_at")
        require_text(self.lot_number, "lot_number")
        require_person(self.recorded_by, "recorded_by")
        if not isinstance(self.lot_expiry, date) or isinstance(self.lot_expiry, datetime):
            raise DocumentationInputError("lot_expiry", "expected a date")
        if self.lot_expiry < self.started_at.date():
            raise DocumentationInputError(
                "lot_expiry", f"lot {self.lot_number} expired {self.lot_expiry.isoformat()}, before the infusion"
            )
        for name in ("concentration_mg_per_ml", "entered_total_ml", "entered_total_mg", "ordered_dose_mg"):
            if getattr(self, name) is not None:
                require_positive(getattr(self, name), name)
        self._check_rate_changes()
        self._check_pauses()

    def _check_rate_changes(self) -> None:
        if not self.rate_changes:
            raise DocumentationInputError("rate_changes", "the starting rate is required")
        if self.rate_changes[0].at != self.started_at:
            raise DocumentationInputError("rate_changes[0].at", "the first rate starts at started_at")
        for index, change in enumerate(self.rate_changes):
            if index and change.at <= self.rate_changes[index - 1].at:
                raise DocumentationInputError(f"rate_changes[{index}].at", "rate changes must be in time order")
            if change.at >= self.stopped_at:
                raise DocumentationInputError(f"rate_changes[{index}].at", "must be before stopped_at")

    def _check_pauses(self) -> None:
        for index, pause in enumerate(self.pauses):
            with input_field(f"pauses[{index}]"):
                if pause.paused_at < self.started_at:
                    raise DocumentationInputError("paused_at", "before the infusion started")
                if pause.resumed_at > self.stopped_at:
                    raise DocumentationInputError("resumed_at", "after the infusion stopped")
                if index and pause.paused_at < self.pauses[index - 1].resumed_at:
                    raise DocumentationInputError("paused_at", "overlaps the previous pause (pauses in time order)")

    @property
    def paused_min(self) -> float:
        return sum(pause.duration_min for pause in self.pauses)

    @property
    def running_min(self) -> float:
        """Minutes the pump ran: start to stop less the pauses."""
        return (self.stopped_at - self.started_at).total_seconds() / _SECONDS_PER_MIN - self.paused_min

    @property
    def computed_total_ml(self) -> float:
        """Σ rate × running time of each rate segment (pauses inside a segment removed)."""
        total_ml = 0.0
        for index, change in enumerate(self.rate_changes):
            segment_end = self.rate_changes[index + 1].at if index + 1 < len(self.rate_changes) else self.stopped_at
            running_min = (segment_end - change.at).total_seconds() / _SECONDS_PER_MIN
            running_min -= sum(_overlap_min(change.at, segment_end, p.paused_at, p.resumed_at) for p in self.pauses)
            total_ml += change.rate_ml_per_h * running_min / _MIN_PER_HOUR
        return total_ml

    @property
    def total_ml(self) -> float:
        if self.entered_total_ml is not None:
            return self.entered_total_ml
        if self.entered_total_mg is not None:
            return self.entered_total_mg / self._concentration()
        return self.computed_total_ml

    @property
    def total_mg(self) -> float:
        if self.entered_total_mg is not None:
            return self.entered_total_mg
        return self.total_ml * self._concentration()

    @property
    def totals_entered(self) -> bool:
        return self.entered_total_ml is not None or self.entered_total_mg is not None

    @property
    def average_rate_ml_per_h(self) -> float:
        """The actual mean pump rate while running (what MedicationAdministration.dosage.rateQuantity reports)."""
        return self.total_ml / (self.running_min / _MIN_PER_HOUR) if self.running_min > 0 else 0.0

    @property
    def dose_deviation_percent(self) -> float | None:
        if self.ordered_dose_mg is None:
            return None
        return (self.total_mg - self.ordered_dose_mg) / self.ordered_dose_mg * 100

    def _concentration(self) -> float:
        if self.concentration_mg_per_ml is None:
            raise DocumentationInputError("concentration_mg_per_ml", "not known yet (filled from the order)")
        return self.concentration_mg_per_ml


def complete_against_order(
    record: AdministrationRecord, order: ActiveOrder, settings: SessionSettings
) -> AdministrationRecord:
    """Fill the concentration and ordered dose from the order, then check the totals against it."""
    completed = replace(
        record,
        concentration_mg_per_ml=record.concentration_mg_per_ml or order.concentration_mg_per_ml,
        ordered_dose_mg=order.dose_mg,
    )
    tolerance_percent = settings.administered_dose_tolerance_percent
    _check_within_the_bag(completed, order, tolerance_percent)
    if completed.entered_total_ml is not None and completed.entered_total_mg is not None:
        implied_mg = completed.entered_total_ml * completed.concentration_mg_per_ml  # type: ignore[operator]
        if abs(implied_mg - completed.entered_total_mg) / completed.entered_total_mg * 100 > tolerance_percent:
            raise DocumentationInputError(
                "entered_total_mg",
                f"{completed.entered_total_mg:g} mg does not match {completed.entered_total_ml:g} mL at "
                f"{completed.concentration_mg_per_ml:g} mg/mL ({implied_mg:.1f} mg)",
            )
    deviation_percent = completed.dose_deviation_percent
    if abs(deviation_percent) > tolerance_percent and not completed.dose_discrepancy_reason.strip():  # type: ignore[arg-type]
        raise DocumentationInputError(
            "dose_discrepancy_reason",
            f"{completed.total_mg:.1f} mg given vs {order.dose_mg:g} mg ordered ({deviation_percent:+.1f}%, "
            f"tolerance {tolerance_percent:g}%): give the reason",
        )
    return completed


def _check_within_the_bag(record: AdministrationRecord, order: ActiveOrder, tolerance_percent: float) -> None:
    """The pump cannot give more than the bag holds (the order's volume: rate × duration), beyond the tolerance
    (pump accuracy, overfill): a record of more is a wrong time, rate or total, not a dose to explain with a reason.
    Accepted with a reason, it claimed up to three times the ketamine there was, and the controlled-substance record
    (given = this record's dose) then had to account for a drawn amount that never went into the bag."""
    bag_ml = order.ordered_volume_ml
    limit_ml = bag_ml * (1 + tolerance_percent / 100)
    if record.total_ml <= limit_ml:
        return
    if record.entered_total_ml is not None or record.entered_total_mg is not None:
        field = "entered_total_ml" if record.entered_total_ml is not None else "entered_total_mg"
        how = "entered"
    else:
        field, how = "stopped_at", "at the recorded rates and times"
    raise DocumentationInputError(
        field, f"{record.total_ml:.1f} mL ({record.total_mg:.1f} mg) {how} is more than the bag held ({bag_ml:g} mL; "
               f"tolerance {tolerance_percent:g}%): the pump stops when the bag is empty; record when it stopped or "
               "the volume the pump shows as infused")


def _overlap_min(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> float:
    overlap_seconds = (min(end, other_end) - max(start, other_start)).total_seconds()
    return max(overlap_seconds, 0) / _SECONDS_PER_MIN
