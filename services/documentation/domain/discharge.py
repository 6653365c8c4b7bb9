"""Recovery and discharge criteria: observation time, vitals back near the pre-infusion baseline, mental status,
modified Aldrete score (when the clinic uses it) and an escort. Each criterion is reported met or not with the
numbers, so a refusal lists every failing one and the note can show them all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_text
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading

ALDRETE_ITEM_MAX_SCORE = 2
ALDRETE_ITEMS = ("activity", "respiration", "circulation", "consciousness", "oxygen_saturation")
ALDRETE_MAX_TOTAL = len(ALDRETE_ITEMS) * ALDRETE_ITEM_MAX_SCORE
_SECONDS_PER_MIN = 60


@dataclass(frozen=True)
class AldreteScore(DocumentationRecord):
    """Modified Aldrete: five items scored 0-2 (instrument definition), total 0-10."""

    activity: int
    respiration: int
    circulation: int
    consciousness: int
    oxygen_saturation: int

    def __post_init__(self) -> None:
        for name in ALDRETE_ITEMS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ALDRETE_ITEM_MAX_SCORE:
                raise DocumentationInputError(name, f"scored 0-{ALDRETE_ITEM_MAX_SCORE}, got {value!r}")

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in ALDRETE_ITEMS)


@dataclass(frozen=True)
class DischargeAssessment(DocumentationRecord):
    mental_status_at_baseline: bool
    escort_present: bool
    assessed_by: str
    assessed_at: datetime
    aldrete: AldreteScore | None = None

    def __post_init__(self) -> None:
        require_text("assessed_by", self.assessed_by)
        require_aware("assessed_at", self.assessed_at)


@dataclass(frozen=True)
class DischargeCriterion(DocumentationRecord):
    name: str
    met: bool
    detail: str


@dataclass(frozen=True)
class DischargeRecord(DocumentationRecord):
    """The assessment, every criterion as evaluated, and the override when the patient left despite a failure."""

    assessment: DischargeAssessment
    criteria: tuple[DischargeCriterion, ...]
    discharged_by: str
    discharged_at: datetime
    override_reason: str = ""

    @property
    def failing(self) -> tuple[DischargeCriterion, ...]:
        return tuple(c for c in self.criteria if not c.met)


def evaluate_discharge(
    assessment: DischargeAssessment,
    infusion_ended_at: datetime,
    baseline: VitalsReading | None,
    recovery_readings: tuple[VitalsReading, ...],
    now: datetime,
    settings: SessionSettings,
) -> tuple[DischargeCriterion, ...]:
    """Every discharge criterion, met or not. ``recovery_readings`` are those taken after the infusion ended;
    the latest one with BP and heart rate is compared with ``baseline`` (the pre-infusion check reading)."""
    observed_min = (now - infusion_ended_at).total_seconds() / _SECONDS_PER_MIN
    criteria = [
        DischargeCriterion(
            "observation",
            observed_min >= settings.min_recovery_observation_min,
            f"observed {observed_min:.0f} min after infusion end (minimum {settings.min_recovery_observation_min})",
        ),
        _vitals_near_baseline(baseline, recovery_readings, settings),
        DischargeCriterion(
            "mental-status",
            assessment.mental_status_at_baseline,
            "mental status at baseline" if assessment.mental_status_at_baseline else "mental status not at baseline",
        ),
    ]
    if settings.aldrete_required:
        criteria.append(_aldrete(assessment.aldrete, settings))
    criteria.append(
        DischargeCriterion(
            "escort",
            assessment.escort_present,
            "escort present" if assessment.escort_present else "no responsible adult to escort the patient",
        )
    )
    return tuple(criteria)


def _vitals_near_baseline(
    baseline: VitalsReading | None, recovery_readings: tuple[VitalsReading, ...], settings: SessionSettings
) -> DischargeCriterion:
    name = "vitals-near-baseline"
    if baseline is None or baseline.systolic_mmhg is None or baseline.heart_rate_per_min is None:
        return DischargeCriterion(name, False, "no pre-infusion baseline BP and heart rate")
    complete = [r for r in recovery_readings if r.systolic_mmhg is not None and r.heart_rate_per_min is not None]
    if not complete:
        return DischargeCriterion(name, False, "no recovery reading with BP and heart rate")
    latest = max(complete, key=lambda r: r.measured_at)
    systolic_diff_mmhg = latest.systolic_mmhg - baseline.systolic_mmhg  # type: ignore[operator]
    heart_rate_diff_per_min = latest.heart_rate_per_min - baseline.heart_rate_per_min  # type: ignore[operator]
    met = (
        abs(systolic_diff_mmhg) <= settings.discharge_systolic_margin_mmhg
        and abs(heart_rate_diff_per_min) <= settings.discharge_heart_rate_margin_per_min
    )
    detail = (
        f"systolic {latest.systolic_mmhg} vs baseline {baseline.systolic_mmhg} mmHg "
        f"({systolic_diff_mmhg:+d}, margin {settings.discharge_systolic_margin_mmhg}); "
        f"heart rate {latest.heart_rate_per_min} vs baseline {baseline.heart_rate_per_min}/min "
        f"({heart_rate_diff_per_min:+d}, margin {settings.discharge_heart_rate_margin_per_min})"
    )
    return DischargeCriterion(name, met, detail)


def _aldrete(aldrete: AldreteScore | None, settings: SessionSettings) -> DischargeCriterion:
    if aldrete is None:
        return DischargeCriterion("aldrete", False, "modified Aldrete score not recorded")
    return DischargeCriterion(
        "aldrete",
        aldrete.total >= settings.aldrete_min_score,
        f"modified Aldrete {aldrete.total}/{ALDRETE_MAX_TOTAL} (minimum {settings.aldrete_min_score})",
    )
