"""Clinic settings for intake eligibility (env prefix ``INTAKE_``), each with its documented default.

Sources in /work/shared/CLINICAL.md. ``trd_min_adequate_trial_weeks`` (6) and the plausible-range limits are
defaults the clinic must confirm: no primary source was read for them. ``madrs_item10_review_min_score`` (4, issue
13 defect 3): MADRS item 10 (suicidal thoughts, 0-6) at or above it holds the decision for review, as PHQ-9 item 9
does; 4 is CLINICAL.md's placeholder alert threshold, unverified. Load with
``shared.config.load_settings(IntakeSettings, "INTAKE_")``; tuples are comma-separated in the environment, e.g.
``INTAKE_SYSTOLIC_PLAUSIBLE_RANGE_MMHG=60,260`` or ``INTAKE_RELATIVE_CONTRAINDICATIONS=uncontrolled-hypertension,...``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from services.intake.domain.baseline import ALL_BASELINE_PARTS
from services.intake.domain.contraindications import (
    DEFAULT_ABSOLUTE_CONTRAINDICATIONS,
    DEFAULT_RELATIVE_CONTRAINDICATIONS,
    ContraindicationClass,
)
from services.intake.domain.cssrs import DEFAULT_CSSRS_HIGH_RISK_ITEMS, DEFAULT_CSSRS_MODERATE_RISK_ITEMS
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.medications import (
    DEFAULT_ANTIDEPRESSANT_TERMS,
    DEFAULT_INTERACTING_DRUG_TERMS,
    DrugNameTerm,
    parse_class_terms,
)
from shared.fhir.codes import MAJOR_DEPRESSIVE_DISORDER
from shared.scales import validate_cssrs_risk_items

_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class IntakeSettings:
    # TRD rule: >= min adequate trials in the current episode without >= threshold % improvement.
    trd_min_adequate_trials: int = 2
    trd_response_threshold_pct: float = 50.0
    trd_min_adequate_trial_weeks: float = 6.0  # default the clinic must confirm

    # Contraindication item keys by class; a clinic may add keys or move one between classes.
    absolute_contraindications: tuple[str, ...] = DEFAULT_ABSOLUTE_CONTRAINDICATIONS
    relative_contraindications: tuple[str, ...] = DEFAULT_RELATIVE_CONTRAINDICATIONS

    # Interacting drugs as "class:name term" (matching rule in domain/medications.py); a flagged class needs review
    # (or an override) unless listed as blocking, which makes the patient not eligible.
    interacting_drug_terms: tuple[str, ...] = DEFAULT_INTERACTING_DRUG_TERMS
    blocking_interacting_drug_classes: tuple[str, ...] = ()
    antidepressant_terms: tuple[str, ...] = DEFAULT_ANTIDEPRESSANT_TERMS

    # Suicidality: which C-SSRS screener items make the risk high / moderate, and what high risk does.
    cssrs_high_risk_items: tuple[str, ...] = DEFAULT_CSSRS_HIGH_RISK_ITEMS
    cssrs_moderate_risk_items: tuple[str, ...] = DEFAULT_CSSRS_MODERATE_RISK_ITEMS
    cssrs_high_risk_outcome: EligibilityOutcome = EligibilityOutcome.NEEDS_REVIEW
    phq9_item9_positive_needs_review: bool = True  # False: listed as information only
    madrs_item10_review_min_score: int = 4  # CLINICAL.md placeholder: unverified

    # Diagnosis and baseline completeness.
    require_active_mdd_diagnosis: bool = True
    mdd_condition_codes: tuple[str, ...] = (f"{MAJOR_DEPRESSIVE_DISORDER.system}|{MAJOR_DEPRESSIVE_DISORDER.code}",)
    required_baseline_parts: tuple[str, ...] = ALL_BASELINE_PARTS

    # Plausible ranges (low, high), inclusive: data-entry checks, not clinical thresholds; placeholders to confirm.
    systolic_plausible_range_mmhg: tuple[float, ...] = (50.0, 300.0)
    diastolic_plausible_range_mmhg: tuple[float, ...] = (20.0, 200.0)
    heart_rate_plausible_range_per_min: tuple[float, ...] = (20.0, 250.0)
    spo2_plausible_range_pct: tuple[float, ...] = (50.0, 100.0)
    respiratory_rate_plausible_range_per_min: tuple[float, ...] = (4.0, 60.0)
    weight_plausible_range_kg: tuple[float, ...] = (20.0, 400.0)
    height_plausible_range_cm: tuple[float, ...] = (100.0, 250.0)

    def validate(self) -> None:
        if self.trd_min_adequate_trials < 1:
            raise ValueError("trd_min_adequate_trials must be at least 1")
        if not 0 < self.trd_response_threshold_pct <= 100:
            raise ValueError("trd_response_threshold_pct must be above 0 and at most 100")
        if not 0 < self.trd_min_adequate_trial_weeks <= 52:
            raise ValueError("trd_min_adequate_trial_weeks must be above 0 and at most 52")
        self._validate_contraindication_keys()
        classes = {term.drug_class for term in self.interacting_drug_class_terms}
        unknown_blocking = set(self.blocking_interacting_drug_classes) - classes
        if unknown_blocking:
            raise ValueError(f"blocking_interacting_drug_classes names unknown classes: {sorted(unknown_blocking)}")
        for term in self.antidepressant_terms:
            if not re.search(r"[a-z0-9]", term.lower()):
                raise ValueError(f"antidepressant term {term!r} has no letters")
        self._validate_cssrs()
        unknown_parts = set(self.required_baseline_parts) - set(ALL_BASELINE_PARTS)
        if unknown_parts:
            raise ValueError(f"required_baseline_parts has unknown parts {sorted(unknown_parts)}; "
                             f"known: {', '.join(ALL_BASELINE_PARTS)}")
        for code in self.mdd_condition_codes:
            if "|" not in code or not all(code.split("|", 1)):
                raise ValueError(f"mdd_condition_codes entry {code!r} must be 'system|code'")
        self._validate_ranges()

    @property
    def interacting_drug_class_terms(self) -> tuple[DrugNameTerm, ...]:
        return parse_class_terms(self.interacting_drug_terms)

    def contraindication_class(self, key: str) -> ContraindicationClass | None:
        if key in self.absolute_contraindications:
            return ContraindicationClass.ABSOLUTE
        if key in self.relative_contraindications:
            return ContraindicationClass.RELATIVE
        return None

    def plausible_range(self, setting_name: str) -> tuple[float, float]:
        low, high = getattr(self, setting_name)
        return low, high

    def _validate_contraindication_keys(self) -> None:
        all_keys = self.absolute_contraindications + self.relative_contraindications
        for key in all_keys:
            if not _KEY.match(key):
                raise ValueError(f"contraindication key {key!r} must be lower-case words joined by '-'")
        duplicated = sorted({key for key in all_keys if all_keys.count(key) > 1})
        if duplicated:
            raise ValueError(f"contraindication keys listed twice (or in both classes): {duplicated}")

    def _validate_cssrs(self) -> None:
        validate_cssrs_risk_items(self.cssrs_high_risk_items, self.cssrs_moderate_risk_items)
        score = self.madrs_item10_review_min_score
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 6:
            raise ValueError("madrs_item10_review_min_score must be a whole number from 1 to 6 (MADRS item 10's "
                             "range; 0 would hold every intake)")
        if self.cssrs_high_risk_outcome is EligibilityOutcome.ELIGIBLE:
            raise ValueError("cssrs_high_risk_outcome must be needs-review or not-eligible")

    def _validate_ranges(self) -> None:
        for name in (
            "systolic_plausible_range_mmhg", "diastolic_plausible_range_mmhg", "heart_rate_plausible_range_per_min",
            "spo2_plausible_range_pct", "respiratory_rate_plausible_range_per_min", "weight_plausible_range_kg",
            "height_plausible_range_cm",
        ):
            bounds = getattr(self, name)
            if len(bounds) != 2 or not all(math.isfinite(b) for b in bounds) or not 0 <= bounds[0] < bounds[1]:
                raise ValueError(f"{name} must be two finite numbers 'low,high' with 0 <= low < high")
        if self.spo2_plausible_range_pct[1] > 100:
            raise ValueError("spo2_plausible_range_pct cannot exceed 100")
