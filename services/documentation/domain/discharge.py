"""Recovery and discharge criteria: observation time, vitals back near the pre-infusion baseline, mental status,
modified Aldrete score (when the clinic uses it), an escort and the discharge instructions. Each criterion is
reported met or not with the numbers, so a refusal lists every failing one and the note can show them all.

Clinical criteria can be overridden with a reason; the escort and the instructions cannot (``overridable``
False): the label releases an outpatient only to a responsible adult, and no driving or machinery until the next
day (CLINICAL.md), so a taxi is not an escort (issue 13 defect 10). The escort's name and relationship are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.documentation.domain.checks import require_aware, require_person
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.follow_up import FollowUpCall
from services.documentation.domain.records import DocumentationRecord
from services.documentation.domain.settings import SessionSettings
from services.documentation.domain.vitals import VitalsReading
from shared.people import Person

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
    assessed_by: Person
    assessed_at: datetime
    aldrete: AldreteScore | None = None
    escort_name: str = ""
    escort_relationship: str = ""
    # The instructions as given (the clinic's texts at the time) and the patient's acknowledgement of them.
    instructions_given: tuple[str, ...] = ()
    instructions_acknowledged: bool = False
    safety_plan_confirmed: bool = False  # issue 13 defect 5: required when the day's suicide risk was above low

    def __post_init__(self) -> None:
        require_person(self.assessed_by, "assessed_by")
        require_aware(self.assessed_at, "assessed_at")

    def escort_text(self) -> str:
        if not self.escort_present:
            return "no responsible adult to escort the patient"
        who = self.escort_name.strip() or "name not recorded"
        return f"escort present: {who} ({self.escort_relationship.strip() or 'relationship not recorded'})"


@dataclass(frozen=True)
class DischargeCriterion(DocumentationRecord):
    name: str
    met: bool
    detail: str
    overridable: bool = True  # False: a label condition or an accountability step no reason can replace


@dataclass(frozen=True)
class DischargeRecord(DocumentationRecord):
    """The assessment, every criterion as evaluated, and the override when the patient left despite a failure."""

    assessment: DischargeAssessment
    criteria: tuple[DischargeCriterion, ...]
    discharged_by: Person
    discharged_at: datetime
    override_reason: str = ""
    contact: str = ""  # who to call, as told to the patient
    follow_up: FollowUpCall | None = None

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
    suicide_risk_above_low: bool = False,
) -> tuple[DischargeCriterion, ...]:
    """Every discharge criterion, met or not (a safety plan when ``suicide_risk_above_low``). ``recovery_readings`` are those taken after the infusion ended;
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
    criteria.append(_escort(assessment))
    criteria.append(_instructions(assessment, settings))
    if suicide_risk_above_low:
        criteria.append(safety_plan_criterion(assessment))
    return tuple(criteria)


def safety_plan_criterion(assessment: DischargeAssessment) -> DischargeCriterion:
    """The day's suicide risk was above low (``suicide_risk.day_risk_above_low``): a safety plan reviewed with the
    patient before they leave (issue 13 defect 5); not overridable, it is the minimum safety measure."""
    detail = ("safety plan reviewed with the patient" if assessment.safety_plan_confirmed else
              "suicide risk above low today: review the safety plan with the patient before discharge")
    return DischargeCriterion("safety-plan", assessment.safety_plan_confirmed, detail, overridable=False)


def _escort(assessment: DischargeAssessment) -> DischargeCriterion:
    named = bool(assessment.escort_name.strip()) and bool(assessment.escort_relationship.strip())
    detail = assessment.escort_text()
    if assessment.escort_present and not named:
        detail += ": record the escort's name and relationship"
    return DischargeCriterion("escort", assessment.escort_present and named, detail, overridable=False)


def _instructions(assessment: DischargeAssessment, settings: SessionSettings) -> DischargeCriterion:
    missing = [text for text in settings.discharge_instructions if text not in assessment.instructions_given]
    if missing:
        return DischargeCriterion("instructions", False, "not given: " + "; ".join(missing), overridable=False)
    if not assessment.instructions_acknowledged:
        return DischargeCriterion("instructions", False, "instructions given but not acknowledged by the patient",
                                  overridable=False)
    return DischargeCriterion(
        "instructions", True, "given and acknowledged: " + "; ".join(settings.discharge_instructions),
        overridable=False,
    )


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
