"""Pre-infusion check: hold rules on vitals, the patient's confirmations and the weight the dose was based on.

A first high BP only asks for a recheck at rest; a high recheck holds. BP at or above the alert thresholds holds at
once, and its override needs the recheck first. HR and SpO2 hold at once, on both sides, as do the respiratory rate
and the RASS (issue 13 defects 8, 9), which the clinic's ``pre_check_required_readings`` require by default. A
clinician may override the vital-sign holds (reason and who are kept); failed confirmations and a weight change
beyond the clinic's tolerance cannot be overridden here: the first need the patient's situation fixed, the second a new dose
from the orders service (this domain only reports it, with both weights).

Fasting (issue 13 defect 18) is recorded as the times of the last solid food and the last clear fluids, not a yes/no:
a fasting window not met (``fasting_solids_hours``, ``fasting_clear_fluids_hours``) is a confirmation hold — the
safer choice: no override, the nurse checks again once the window has passed (or defers). A session recorded
before this change keeps its yes/no (``fasting_confirmed``), read back and shown as it was.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.documentation.domain.checks import require_aware, require_positive, require_text, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.pregnancy import PregnancyApplicability
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.site_readiness import SiteReadiness
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person


class PregnancyCheck(enum.Enum):
    NOT_APPLICABLE = "not-applicable"
    NEGATIVE = "negative"
    POSITIVE = "positive"
    NOT_DONE = "not-done"


@dataclass(frozen=True)
class PreCheckConfirmations(DocumentationRecord):
    """What the nurse confirmed with the patient; ``findings`` says what was found when something is not confirmed.

    ``last_solid_food_at`` and ``last_clear_fluids_at``: when the patient last ate and drank clear fluids, as the
    patient says (required for a new check; None only in a check recorded before issue 13 defect 18, which has
    ``fasting_confirmed`` instead)."""

    ride_home_confirmed: bool
    no_new_contraindication_since_intake: bool
    no_new_interacting_drug_since_intake: bool
    pregnancy_check: PregnancyCheck
    findings: str = ""
    last_solid_food_at: datetime | None = None
    last_clear_fluids_at: datetime | None = None
    fasting_confirmed: bool | None = None  # the yes/no of a check recorded before the fasting times

    def __post_init__(self) -> None:
        for name in ("last_solid_food_at", "last_clear_fluids_at"):
            if getattr(self, name) is not None:
                require_aware(getattr(self, name), f"confirmations.{name}")

    @property
    def fasting_times_recorded(self) -> bool:
        return self.last_solid_food_at is not None and self.last_clear_fluids_at is not None


class PreCheckOutcome(enum.Enum):
    CLEARED = "cleared"
    RECHECK_REQUIRED = "recheck-required"
    HOLD = "hold"


@dataclass(frozen=True)
class DoseRecalculation(DocumentationRecord):
    """The latest weight differs from the order's weight beyond the clinic's tolerance: the order needs a new dose."""

    order_weight_kg: float
    latest_weight_kg: float
    change_percent: float

    def describe(self) -> str:
        return (
            f"dose needs recalculation: weight {self.order_weight_kg:g} kg at order, "
            f"{self.latest_weight_kg:g} kg now ({self.change_percent:+.1f}%)"
        )


@dataclass(frozen=True)
class PreCheckResult(DocumentationRecord):
    """``severe_bp_unconfirmed``: BP at or above the alert thresholds on a first reading (issue 13 defect 9) — the
    infusion is held and no override is possible until a recheck at rest has been recorded."""

    outcome: PreCheckOutcome
    vital_sign_holds: tuple[str, ...] = ()
    recheck_reasons: tuple[str, ...] = ()
    confirmation_holds: tuple[str, ...] = ()
    dose_recalculation: DoseRecalculation | None = None
    severe_bp_unconfirmed: bool = False


@dataclass(frozen=True)
class HoldOverride(DocumentationRecord):
    """A clinician's decision to infuse despite vital-sign holds."""

    reason: str
    overridden_by: Person
    overridden_at: datetime

    def __post_init__(self) -> None:
        require_text(self.reason, "reason")
        require_person(self.overridden_by, "overridden_by")
        require_aware(self.overridden_at, "overridden_at")


@dataclass(frozen=True)
class PreCheckAttempt(DocumentationRecord):
    """One pre-infusion check as recorded, with the result the clinician saw (kept even if settings change later).

    ``ordered_dose_mg`` is the order's dose at the time, so a start after an order change asks for a new check.
    """

    reading: VitalsReading
    confirmations: PreCheckConfirmations
    order_weight_kg: float
    latest_weight_kg: float
    ordered_dose_mg: float
    checked_by: Person
    checked_at: datetime
    result: PreCheckResult
    override: HoldOverride | None = None
    site_readiness: SiteReadiness | None = None
    pregnancy_applicability: PregnancyApplicability | None = None  # why "not applicable" was or was not allowed

    def __post_init__(self) -> None:
        require_positive(self.order_weight_kg, "order_weight_kg")
        require_positive(self.latest_weight_kg, "latest_weight_kg")
        require_positive(self.ordered_dose_mg, "ordered_dose_mg")
        require_person(self.checked_by, "checked_by")
        require_aware(self.checked_at, "checked_at")

    def blocking_reasons(self) -> tuple[str, ...]:
        """Why the infusion may not start after this check; empty when it may."""
        reasons: list[str] = []
        if self.override is None:
            reasons += self.result.vital_sign_holds + self.result.recheck_reasons
        reasons += self.result.confirmation_holds
        if self.result.dose_recalculation is not None:
            reasons.append(self.result.dose_recalculation.describe())
        return tuple(reasons)


def require_complete_pre_check_reading(reading: VitalsReading, settings: SessionSettings) -> None:
    """Every reading the clinic requires (``pre_check_required_readings``: by default BP, heart rate, SpO2,
    respiratory rate and RASS) must be there: the hold rules only look at what was measured, so a partial reading
    would clear a patient without looking at the rest (issue 13 defect 8 follow-up)."""
    for name in settings.pre_check_required_readings:
        if getattr(reading, name) is None:
            raise DocumentationInputError(name, "required for the pre-infusion check")


def evaluate_pre_check(
    reading: VitalsReading,
    previous_reading: VitalsReading | None,
    confirmations: PreCheckConfirmations,
    order_weight_kg: float,
    latest_weight_kg: float,
    settings: SessionSettings,
    checked_at: datetime | None = None,
) -> PreCheckResult:
    """Apply the clinic's hold rules. ``previous_reading`` is the reading of the check before this one, if any:
    when its BP was high this reading is the recheck. ``checked_at``: when the check was made, the moment the
    fasting windows are measured to (the reading's time when not given)."""
    vital_sign_holds: list[str] = []
    recheck_reasons: list[str] = []
    severe_bp_unconfirmed = False
    rechecked = previous_reading is not None and _blood_pressure_high(previous_reading, settings)
    if _blood_pressure_severe(reading, settings):
        limit = f"{settings.alert_systolic_at_or_above_mmhg}/{settings.alert_diastolic_at_or_above_mmhg} mmHg"
        if rechecked:
            vital_sign_holds.append(f"BP {reading.blood_pressure_text()} at or above {limit} on recheck at rest")
        else:
            severe_bp_unconfirmed = True
            vital_sign_holds.append(f"BP {reading.blood_pressure_text()} at or above {limit}: infusion held; "
                                    "recheck at rest before any override")
    elif _blood_pressure_high(reading, settings):
        limit = f"{settings.pre_check_systolic_hold_above_mmhg}/{settings.pre_check_diastolic_hold_above_mmhg} mmHg"
        if rechecked:
            vital_sign_holds.append(f"BP {reading.blood_pressure_text()} above {limit} on recheck at rest")
        else:
            recheck_reasons.append(f"BP {reading.blood_pressure_text()} above {limit}: recheck at rest")
    if reading.heart_rate_per_min > settings.pre_check_heart_rate_hold_above_per_min:  # type: ignore[operator]
        vital_sign_holds.append(
            f"heart rate {reading.heart_rate_per_min}/min above {settings.pre_check_heart_rate_hold_above_per_min}/min"
        )
    if reading.spo2_percent < settings.pre_check_spo2_hold_below_percent:  # type: ignore[operator]
        vital_sign_holds.append(f"SpO2 {reading.spo2_percent:g}% below {settings.pre_check_spo2_hold_below_percent:g}%")
    vital_sign_holds += low_side_holds(reading, settings)
    confirmation_holds = fasting_holds(confirmations, checked_at or reading.measured_at, settings)
    confirmation_holds += _confirmation_holds(confirmations)
    if vital_sign_holds or confirmation_holds:
        outcome = PreCheckOutcome.HOLD
    elif recheck_reasons:
        outcome = PreCheckOutcome.RECHECK_REQUIRED
    else:
        outcome = PreCheckOutcome.CLEARED
    return PreCheckResult(
        outcome=outcome,
        vital_sign_holds=tuple(vital_sign_holds),
        recheck_reasons=tuple(recheck_reasons),
        confirmation_holds=confirmation_holds,
        dose_recalculation=weight_change(order_weight_kg, latest_weight_kg, settings),
        severe_bp_unconfirmed=severe_bp_unconfirmed,
    )


def low_side_holds(reading: VitalsReading, settings: SessionSettings) -> list[str]:
    """Hypotension, bradycardia, respiratory rate out of range and sedation/agitation on the RASS (issue 13 defect
    8): each holds at once (strictly below/above the setting; RASS at or beyond it). Respiratory rate and RASS
    are checked when measured."""
    holds = []
    if reading.systolic_mmhg is not None and reading.systolic_mmhg < settings.pre_check_systolic_hold_below_mmhg:
        holds.append(f"systolic {reading.systolic_mmhg} mmHg below {settings.pre_check_systolic_hold_below_mmhg} mmHg")
    heart_rate = reading.heart_rate_per_min
    if heart_rate is not None and heart_rate < settings.pre_check_heart_rate_hold_below_per_min:
        holds.append(f"heart rate {heart_rate}/min below {settings.pre_check_heart_rate_hold_below_per_min}/min")
    rate = reading.respiratory_rate_per_min
    if rate is not None and rate < settings.pre_check_respiratory_rate_hold_below_per_min:
        holds.append(f"respiratory rate {rate}/min below {settings.pre_check_respiratory_rate_hold_below_per_min}/min")
    if rate is not None and rate > settings.pre_check_respiratory_rate_hold_above_per_min:
        holds.append(f"respiratory rate {rate}/min above {settings.pre_check_respiratory_rate_hold_above_per_min}/min")
    rass = reading.rass_score
    if rass is not None and rass <= settings.pre_check_rass_hold_at_or_below:
        holds.append(f"RASS {rass:+d} at or below {settings.pre_check_rass_hold_at_or_below:+d} (sedated)")
    if rass is not None and rass >= settings.pre_check_rass_hold_at_or_above:
        holds.append(f"RASS {rass:+d} at or above {settings.pre_check_rass_hold_at_or_above:+d} (agitated)")
    return holds


def weight_change(
    order_weight_kg: float, latest_weight_kg: float, settings: SessionSettings
) -> DoseRecalculation | None:
    """A DoseRecalculation when the weight changed by more than the tolerance (exactly at it is still within)."""
    change_percent = (latest_weight_kg - order_weight_kg) / order_weight_kg * 100
    if abs(change_percent) <= settings.weight_change_tolerance_percent:
        return None
    return DoseRecalculation(order_weight_kg, latest_weight_kg, round(change_percent, 2))


def _blood_pressure_severe(reading: VitalsReading, settings: SessionSettings) -> bool:
    """At or above the flowsheet's alert thresholds (default 180/110): held at once, not only rechecked."""
    return (
        reading.systolic_mmhg >= settings.alert_systolic_at_or_above_mmhg  # type: ignore[operator]
        or reading.diastolic_mmhg >= settings.alert_diastolic_at_or_above_mmhg  # type: ignore[operator]
    )


def _blood_pressure_high(reading: VitalsReading, settings: SessionSettings) -> bool:
    return (
        reading.systolic_mmhg > settings.pre_check_systolic_hold_above_mmhg  # type: ignore[operator]
        or reading.diastolic_mmhg > settings.pre_check_diastolic_hold_above_mmhg  # type: ignore[operator]
    )


def require_plausible_fasting_times(confirmations: PreCheckConfirmations, checked_at: datetime,
                                    settings: SessionSettings) -> None:
    """Both times given, neither after the check, neither more than ``fasting_time_max_hours_before_check`` before
    it (a wrong date): a 400 naming the field. (A time in the future is refused before, by the service's clock.)"""
    earliest = checked_at - timedelta(hours=settings.fasting_time_max_hours_before_check)
    for name, what in (("last_solid_food_at", "last solid food"), ("last_clear_fluids_at", "last clear fluids")):
        moment = getattr(confirmations, name)
        field = f"confirmations.{name}"
        if moment is None:
            raise DocumentationInputError(field, f"the time of the {what} is required (ask the patient)")
        if moment > checked_at:
            raise DocumentationInputError(field, f"{moment.isoformat()} is after the check ({checked_at.isoformat()})"
                                                 ": the patient cannot have eaten or drunk after it")
        if moment < earliest:
            raise DocumentationInputError(
                field, f"{moment.isoformat()} is more than {settings.fasting_time_max_hours_before_check} h before the "
                       "check: check the date")


def fasting_holds(confirmations: PreCheckConfirmations, checked_at: datetime,
                  settings: SessionSettings) -> tuple[str, ...]:
    """A hold for each fasting window not met at ``checked_at`` (exactly at the window is met). A check recorded
    before the fasting times holds only when its yes/no said no."""
    if not confirmations.fasting_times_recorded:
        return () if confirmations.fasting_confirmed else ("fasting not confirmed",)
    holds = []
    for what, moment, window_h in (
        ("last solid food", confirmations.last_solid_food_at, settings.fasting_solids_hours),
        ("last clear fluids", confirmations.last_clear_fluids_at, settings.fasting_clear_fluids_hours),
    ):
        fasted = checked_at - moment  # type: ignore[operator]
        window = timedelta(hours=window_h)
        if fasted < window:
            holds.append(f"{what} {_duration(fasted)} before the check, under the {window_h:g} h fasting window: "
                         f"wait {_duration(window - fasted, up=True)} and check again")
    return tuple(holds)


def _duration(span: timedelta, up: bool = False) -> str:
    """``5 h 06 min``: whole minutes, down for the time fasted, up for the time still to wait."""
    seconds = max(0, int(span.total_seconds()))
    minutes = -(-seconds // 60) if up else seconds // 60
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _confirmation_holds(confirmations: PreCheckConfirmations) -> tuple[str, ...]:
    holds = []
    if not confirmations.ride_home_confirmed:
        holds.append("ride home not confirmed")
    if not confirmations.no_new_contraindication_since_intake:
        holds.append("new contraindication since intake")
    if not confirmations.no_new_interacting_drug_since_intake:
        holds.append("new interacting drug since intake")
    if confirmations.pregnancy_check is PregnancyCheck.POSITIVE:
        holds.append("pregnancy test positive")
    elif confirmations.pregnancy_check is PregnancyCheck.NOT_DONE:
        holds.append("pregnancy check not done")
    return tuple(holds)
