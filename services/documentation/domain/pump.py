"""Pump changes charted during the infusion (a rate change, a pause, its resumption, a stop), wherever they were
charted: as the action on an alert ("rate reduced to 100 mL/h") or on the flowsheet directly.

They are what the administration record's rate segments come from (issue 13 defect 19: a charted rate reduction
never reached the record, which then claimed the full ordered dose). ``charted_infusion`` turns them into the
segments the pump ran: the ordered rate from the start, each change from its time, pauses until their
resumption (or the stop), the stop (or the infusion's end). ``missing_from_record`` says which charted changes an
administration record sent by the clinician leaves out, so it cannot silently contradict the chart.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.documentation.domain.administration import AdministrationRecord, Pause, RateChange
from services.documentation.domain.checks import require_aware, require_positive, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person

# Times typed into a form have minute resolution; a charted change matches a record's within this.
SAME_MOMENT = timedelta(seconds=60)


class PumpChangeKind(enum.Enum):
    RATE_CHANGE = "rate-change"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


@dataclass(frozen=True)
class PumpChange(DocumentationRecord):
    """One charted change; ``alert_id`` when it was charted as the action on that alert."""

    change_id: str
    kind: PumpChangeKind
    at: datetime
    recorded_by: Person
    rate_ml_per_h: float | None = None
    reason: str = ""
    alert_id: str = ""

    def __post_init__(self) -> None:
        require_text(self.change_id, "change_id")
        require_aware(self.at, "at")
        require_person(self.recorded_by, "recorded_by")
        if self.kind is PumpChangeKind.RATE_CHANGE:
            if self.rate_ml_per_h is None:
                raise DocumentationInputError("rate_ml_per_h", "a rate change gives the new rate")
            require_positive(self.rate_ml_per_h, "rate_ml_per_h")
        elif self.rate_ml_per_h is not None:
            raise DocumentationInputError("rate_ml_per_h", f"a {self.kind.value} has no rate")
        if self.kind is PumpChangeKind.PAUSE:
            require_text(self.reason, "reason")

    def describe(self) -> str:
        if self.kind is PumpChangeKind.RATE_CHANGE:
            text = f"rate changed to {self.rate_ml_per_h:g} mL/h"
        else:
            text = {"pause": "paused", "resume": "resumed", "stop": "stopped"}[self.kind.value]
        return f"{text} ({self.reason})" if self.reason else text


@dataclass(frozen=True)
class ChartedInfusion:
    """What the chart says the pump did: rate segments, pauses and when it stopped."""

    rate_changes: tuple[RateChange, ...]
    pauses: tuple[Pause, ...]
    stopped_at: datetime
    stop_charted: bool = False  # stopped_at is a charted stop (else the infusion's end)


def check_new_change(change: PumpChange, started_at: datetime | None, existing: tuple[PumpChange, ...]) -> None:
    """A change is charted after the start; a pause needs the pump running, a resumption a pause, nothing
    follows a stop."""
    if started_at is None:
        raise DocumentationInputError("at", "the infusion has not started")
    if change.at < started_at:
        raise DocumentationInputError("at", "before the infusion started")
    earlier = sorted((c for c in existing if c.at <= change.at and c.change_id != change.change_id),
                     key=lambda c: c.at)
    if any(c.kind is PumpChangeKind.STOP for c in earlier):
        raise DocumentationInputError("kind", "the pump was already stopped")
    paused = _paused_after(earlier)
    if change.kind is PumpChangeKind.PAUSE and paused:
        raise DocumentationInputError("kind", "the pump is already paused")
    if change.kind is PumpChangeKind.RESUME and not paused:
        raise DocumentationInputError("kind", "the pump is not paused")


def charted_infusion(
    started_at: datetime, start_rate_ml_per_h: float, ended_at: datetime, changes: tuple[PumpChange, ...]
) -> ChartedInfusion:
    """The segments from the charted changes (those before ``ended_at``; a change at or after it is moot)."""
    ordered = sorted((c for c in changes if started_at <= c.at < ended_at), key=lambda c: c.at)
    stop = next((c.at for c in ordered if c.kind is PumpChangeKind.STOP), None)
    stopped_at = stop or ended_at
    rate_changes = [RateChange(started_at, start_rate_ml_per_h)]
    pauses: list[Pause] = []
    paused_at: datetime | None = None
    pause_reason = ""
    for change in ordered:
        if change.at >= stopped_at:
            break
        if change.kind is PumpChangeKind.RATE_CHANGE:
            rate = change.rate_ml_per_h or start_rate_ml_per_h
            if change.at == rate_changes[-1].at:
                rate_changes[-1] = RateChange(change.at, rate)
            else:
                rate_changes.append(RateChange(change.at, rate))
        elif change.kind is PumpChangeKind.PAUSE and paused_at is None:
            paused_at, pause_reason = change.at, change.reason
        elif change.kind is PumpChangeKind.RESUME and paused_at is not None:
            if change.at > paused_at:
                pauses.append(Pause(paused_at, change.at, pause_reason))
            paused_at = None
    if paused_at is not None and stopped_at > paused_at:
        pauses.append(Pause(paused_at, stopped_at, pause_reason))
    return ChartedInfusion(tuple(rate_changes), tuple(pauses), stopped_at, stop is not None)


def missing_from_record(record: AdministrationRecord, charted: ChartedInfusion) -> list[tuple[str, str]]:
    """(field, message) for each charted rate change or pause the record leaves out, and a stop it ignores."""
    missing = []
    for change in charted.rate_changes[1:]:
        if not any(abs(r.at - change.at) <= SAME_MOMENT and abs(r.rate_ml_per_h - change.rate_ml_per_h) < 0.05
                   for r in record.rate_changes):
            missing.append(("rate_changes", f"the rate change to {change.rate_ml_per_h:g} mL/h charted at "
                                            f"{change.at.isoformat(timespec='minutes')} is not in the record"))
    for pause in charted.pauses:
        covered = any(p.paused_at - SAME_MOMENT <= pause.paused_at and p.resumed_at + SAME_MOMENT >= pause.resumed_at
                      for p in record.pauses)
        if not covered:
            missing.append(("pauses", f"the pause charted from {pause.paused_at.isoformat(timespec='minutes')} to "
                                      f"{pause.resumed_at.isoformat(timespec='minutes')} is not in the record"))
    if charted.stop_charted and record.stopped_at > charted.stopped_at + SAME_MOMENT:
        missing.append(("stopped_at", f"the pump was charted as stopped at "
                                      f"{charted.stopped_at.isoformat(timespec='minutes')}"))
    return missing


def _paused_after(changes: list[PumpChange]) -> bool:
    paused = False
    for change in changes:
        if change.kind is PumpChangeKind.PAUSE:
            paused = True
        elif change.kind is PumpChangeKind.RESUME:
            paused = False
    return paused
