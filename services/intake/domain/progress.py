"""What an intake still lacks before a decision can be "eligible": the parts not recorded, the contraindication
items not answered and the required baseline measures not taken.

One place for "is this part recorded", so the screen's to-do list and the decision's reasons never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain.baseline import BASELINE_PART_LABELS, BaselinePart
from services.intake.domain.consent import consent_element_label
from services.intake.domain.contraindications import contraindication_label
from services.intake.domain.cssrs import CssrsRisk
from services.intake.domain.model import Intake
from services.intake.domain.settings import IntakeSettings
from shared.records import JsonRecord

# Baseline part → (intake part, item within it): the names the API's record endpoints use.
BASELINE_PART_PLACES: dict[BaselinePart, tuple[str, str | None]] = {
    BaselinePart.BLOOD_PRESSURE: ("vitals", "blood_pressure"),
    BaselinePart.HEART_RATE: ("vitals", "heart_rate_per_min"),
    BaselinePart.SPO2: ("vitals", "spo2_pct"),
    BaselinePart.RESPIRATORY_RATE: ("vitals", "respiratory_rate_per_min"),
    BaselinePart.WEIGHT: ("vitals", "weight_kg"),
    BaselinePart.HEIGHT: ("vitals", "height_cm"),
    BaselinePart.PHQ9: ("phq9", None),
    BaselinePart.MADRS: ("madrs", None),
    BaselinePart.CSSRS: ("cssrs", None),
}


@dataclass(frozen=True)
class MissingItem(JsonRecord):
    part: str  # trials | contraindications | vitals | phq9 | madrs | cssrs | cssrs_review | consent | conditions |
    # medications
    item: str | None  # the contraindication key or vital measure, when only one item of the part is missing
    text: str


def missing_baseline_parts(intake: Intake, settings: IntakeSettings) -> tuple[BaselinePart, ...]:
    """The clinic's required baseline parts this intake has not recorded, in BaselinePart order."""
    return tuple(
        part for part in BaselinePart
        if part.value in settings.required_baseline_parts and not _baseline_recorded(intake, part)
    )


def unanswered_contraindications(intake: Intake, settings: IntakeSettings) -> tuple[str, ...]:
    """Configured contraindication keys the recorded screen does not answer (all of them without a screen)."""
    keys = settings.absolute_contraindications + settings.relative_contraindications
    screen = intake.contraindications
    return tuple(key for key in keys if screen is None or screen.answer_for(key) is None)


def missing_items(intake: Intake, settings: IntakeSettings) -> tuple[MissingItem, ...]:
    missing: list[MissingItem] = []
    if intake.conditions is None:
        missing.append(MissingItem("conditions", None, "Problem list not read from the EHR"))
    if intake.medications is None:
        missing.append(MissingItem("medications", None, "Medication list not read from the EHR"))
    if intake.trials is None:
        missing.append(MissingItem("trials", None, "Prior antidepressant trials not confirmed"))
    if intake.contraindications is None:
        missing.append(MissingItem("contraindications", None, "Contraindication screen not recorded"))
    else:
        missing += [MissingItem("contraindications", key, f"Not answered: {contraindication_label(key)}")
                    for key in unanswered_contraindications(intake, settings)]
    for part in missing_baseline_parts(intake, settings):
        where, item = BASELINE_PART_PLACES[part]
        missing.append(MissingItem(where, item, f"Baseline missing: {BASELINE_PART_LABELS[part]}"))
    if intake.consent is None:
        missing.append(MissingItem("consent", None, "Informed consent not recorded"))
    else:
        missing += [MissingItem("consent", key, f"Consent element not acknowledged: {consent_element_label(key)}")
                    for key in settings.consent_elements if key not in intake.consent.elements_acknowledged]
    screen = intake.cssrs
    if screen is not None and screen.risk.rank >= CssrsRisk.MODERATE.rank and (
            intake.cssrs_review is None or intake.cssrs_review.cssrs_answered_at != screen.answered_at):
        missing.append(MissingItem("cssrs_review", None, f"C-SSRS {screen.risk.value} risk: behavioural-health "
                                                         "review not documented"))
    return tuple(missing)


def _baseline_recorded(intake: Intake, part: BaselinePart) -> bool:
    where, item = BASELINE_PART_PLACES[part]
    holder = intake.vitals if where == "vitals" else intake
    return getattr(holder, item or where) is not None
