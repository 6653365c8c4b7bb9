"""Flowsheet entries besides readings: alerts raised by a reading, the action taken on each, and free-text or
coded events. An alert without an action is open, and a session with an open alert cannot be completed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_positive, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.rescue import RescueMedication
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person


class AlertActionKind(enum.Enum):
    """What was done about an alert, coded (``translators/codes.py`` ALERT_ACTION_CODES). ``observed`` (rechecked,
    no intervention needed) exists so a clinician who judges a crossing transient can close the alert; it and
    ``other`` need ``detail`` saying why or what. A rate reduction names the new rate and a pause or stop is a
    pump change too, so the administration record and the dose given follow them (issue 13 defect 19); a
    medication given is its own administration record (``RescueMedication``), not free text."""

    RATE_REDUCED = "rate-reduced"
    PAUSED = "paused"
    STOPPED = "stopped"
    MEDICATION_GIVEN = "medication-given"
    OBSERVED = "observed"
    OTHER = "other"


_ACTIONS_NEEDING_DETAIL = (AlertActionKind.OBSERVED, AlertActionKind.OTHER)


@dataclass(frozen=True)
class AlertAction(DocumentationRecord):
    """``rate_ml_per_h`` is the new pump rate of a rate reduction; ``rescue`` the medication given. Both are
    required of a new action (``require_complete``); records stored before they existed still read."""

    kind: AlertActionKind
    taken_by: Person
    taken_at: datetime
    detail: str = ""
    rate_ml_per_h: float | None = None
    rescue: RescueMedication | None = None

    def __post_init__(self) -> None:
        require_person(self.taken_by, "taken_by")
        require_aware(self.taken_at, "taken_at")
        if self.kind in _ACTIONS_NEEDING_DETAIL and not self.detail.strip():
            raise DocumentationInputError("detail", f"say why for action {self.kind.value}")
        if self.kind is AlertActionKind.MEDICATION_GIVEN and self.rescue is None and not self.detail.strip():
            raise DocumentationInputError("rescue", "name the medication, dose and route given")
        if self.rate_ml_per_h is not None:
            if self.kind is not AlertActionKind.RATE_REDUCED:
                raise DocumentationInputError("rate_ml_per_h", "only a rate reduction gives a new rate")
            require_positive(self.rate_ml_per_h, "rate_ml_per_h")
        if self.rescue is not None and self.kind is not AlertActionKind.MEDICATION_GIVEN:
            raise DocumentationInputError("rescue", "only the action medication-given records a medication")

    def require_complete(self) -> None:
        """What a newly recorded action must carry: the new rate of a reduction, the medication given."""
        if self.kind is AlertActionKind.RATE_REDUCED and self.rate_ml_per_h is None:
            raise DocumentationInputError("rate_ml_per_h", "give the new pump rate (mL/h) the rate was reduced to")
        if self.kind is AlertActionKind.MEDICATION_GIVEN and self.rescue is None:
            raise DocumentationInputError("rescue", "name the medication, dose and route given")

    def describe(self) -> str:
        text = self.kind.value.replace("-", " ")
        if self.rate_ml_per_h is not None:
            text += f" to {self.rate_ml_per_h:g} mL/h"
        if self.rescue is not None:
            text += f": {self.rescue.describe()}"
        return f"{text}: {self.detail.strip()}" if self.detail.strip() else text


@dataclass(frozen=True)
class VitalsAlert(DocumentationRecord):
    """A reading crossed one or more alert thresholds; ``crossings`` names each value and its threshold."""

    alert_id: str
    reading_id: str
    raised_at: datetime
    crossings: tuple[str, ...]
    action: AlertAction | None = None

    def __post_init__(self) -> None:
        require_text(self.alert_id, "alert_id")
        require_text(self.reading_id, "reading_id")
        require_aware(self.raised_at, "raised_at")
        if not self.crossings:
            raise DocumentationInputError("crossings", "an alert names at least one crossed threshold")

    @property
    def is_open(self) -> bool:
        return self.action is None

    def with_action(self, action: AlertAction) -> VitalsAlert:
        if action.taken_at < self.raised_at:
            raise DocumentationInputError("taken_at", "an action cannot precede the alert it answers")
        return replace(self, action=action)


@dataclass(frozen=True)
class FlowsheetEvent(DocumentationRecord):
    """A free-text or coded event (``code_system``/``code``/``code_display`` together, or none of them)."""

    event_id: str
    occurred_at: datetime
    recorded_by: Person
    text: str
    code_system: str = ""
    code: str = ""
    code_display: str = ""

    def __post_init__(self) -> None:
        require_text(self.event_id, "event_id")
        require_aware(self.occurred_at, "occurred_at")
        require_person(self.recorded_by, "recorded_by")
        if not self.text.strip() and not self.code:
            raise DocumentationInputError("text", "an event needs text or a code")
        if bool(self.code_system) != bool(self.code):
            raise DocumentationInputError("code" if self.code_system else "code_system", "system and code go together")


def alert_id_for(reading_id: str) -> str:
    """One alert per reading, so a redelivered reading never raises a second alert."""
    return f"{reading_id}-alert"


def alert_crossings(reading: VitalsReading, settings: SessionSettings) -> tuple[str, ...]:
    """Each alert threshold the reading crossed (systolic/diastolic/HR at or above, SpO2 below, then the low side,
    respiratory rate and RASS), described."""
    crossings = []
    if reading.systolic_mmhg is not None and reading.systolic_mmhg >= settings.alert_systolic_at_or_above_mmhg:
        crossings.append(f"systolic {reading.systolic_mmhg} mmHg ≥ {settings.alert_systolic_at_or_above_mmhg} mmHg")
    if reading.diastolic_mmhg is not None and reading.diastolic_mmhg >= settings.alert_diastolic_at_or_above_mmhg:
        crossings.append(f"diastolic {reading.diastolic_mmhg} mmHg ≥ {settings.alert_diastolic_at_or_above_mmhg} mmHg")
    if (
        reading.heart_rate_per_min is not None
        and reading.heart_rate_per_min >= settings.alert_heart_rate_at_or_above_per_min
    ):
        crossings.append(
            f"heart rate {reading.heart_rate_per_min}/min ≥ {settings.alert_heart_rate_at_or_above_per_min}/min"
        )
    if reading.spo2_percent is not None and reading.spo2_percent < settings.alert_spo2_below_percent:
        crossings.append(f"SpO2 {reading.spo2_percent:g}% < {settings.alert_spo2_below_percent:g}%")
    return tuple(crossings) + low_side_crossings(reading, settings)


def low_side_crossings(reading: VitalsReading, settings: SessionSettings) -> tuple[str, ...]:
    """Hypotension, bradycardia, respiratory rate below or above its band, and sedation or agitation on the RASS
    (issue 13 defect 8): strictly below/above the setting; RASS at or beyond it."""
    crossings = []
    systolic, heart_rate, rate, rass = (reading.systolic_mmhg, reading.heart_rate_per_min,
                                        reading.respiratory_rate_per_min, reading.rass_score)
    if systolic is not None and systolic < settings.alert_systolic_below_mmhg:
        crossings.append(f"systolic {systolic} mmHg < {settings.alert_systolic_below_mmhg} mmHg")
    if heart_rate is not None and heart_rate < settings.alert_heart_rate_below_per_min:
        crossings.append(f"heart rate {heart_rate}/min < {settings.alert_heart_rate_below_per_min}/min")
    if rate is not None and rate < settings.alert_respiratory_rate_below_per_min:
        crossings.append(f"respiratory rate {rate}/min < {settings.alert_respiratory_rate_below_per_min}/min")
    if rate is not None and rate > settings.alert_respiratory_rate_above_per_min:
        crossings.append(f"respiratory rate {rate}/min > {settings.alert_respiratory_rate_above_per_min}/min")
    if rass is not None and rass <= settings.alert_rass_at_or_below:
        crossings.append(f"RASS {rass:+d} ≤ {settings.alert_rass_at_or_below:+d} (sedated)")
    if rass is not None and rass >= settings.alert_rass_at_or_above:
        crossings.append(f"RASS {rass:+d} ≥ {settings.alert_rass_at_or_above:+d} (agitated)")
    return tuple(crossings)


def alert_for_reading(reading: VitalsReading, settings: SessionSettings) -> VitalsAlert | None:
    crossings = alert_crossings(reading, settings)
    if not crossings:
        return None
    return VitalsAlert(alert_id_for(reading.reading_id), reading.reading_id, reading.measured_at, crossings)
