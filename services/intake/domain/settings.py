"""Clinic settings for intake eligibility (env prefix ``INTAKE_``), each with its documented default.

Sources in /work/shared/CLINICAL.md. ``trd_min_adequate_trial_weeks`` (6) and the plausible-range limits are
defaults the clinic must confirm: no primary source was read for them.

Added for issue 13 (each a default the clinic must confirm unless a source is named):
- C-SSRS (defect 4): Columbia screener triage (CLINICAL.md): moderate risk needs a documented behavioural-health
  review; high risk is not eligible until reviewed (``cssrs_high_risk_outcome`` default now ``not-eligible``).
- ``consent_elements`` (defect 15): CLINICAL.md "Consent content commonly explained" (clinic consent forms, consensus
  statement); every one must be acknowledged.
- ``interacting_drug_codes`` (defect 16): RxNorm ingredient codes verified against CPIC's RxNorm drug list
  (cpicpgx/cpic-schema drug.sql) and RxNav (memantine 6719); drugs whose code was not verified are matched by name only.
- ``pregnancy_not_applicable_sexes`` (male) and ``childbearing_age_range_years`` (10-55, placeholder) (defect 18).
- plausibility (defect 24): ``clock_skew_minutes`` (5), ``part_time_lookback_days`` (90), ``referral_max_age_days``
  (365), ``trial_duration_plausible_range_weeks`` (0-520), ``trial_improvement_plausible_range_pct`` (-300 to 100),
  ``patient_age_plausible_range_years`` (0-120): data-entry bounds, placeholders, not clinical thresholds; the low
  side refuses dates before the intake's window or the patient's birth, the high side times in the future.
- ``madrs_item10_review_min_score`` (defect 3): MADRS item 10 (suicidal thoughts, 0-6) at 4 or above holds the
  decision for review, as PHQ-9 item 9 does. 4 is CLINICAL.md's placeholder alert threshold: unverified.
- ``cssrs_max_age_days`` (reviewer R3): a C-SSRS screener answered more than 30 days before the decision holds it
  for review (screen again): the screen version asks about the past month, so an older screen (e.g. one kept
  through a reopening) says nothing about the patient's risk now. 30 follows the screener's own window; allowed 1-90.
- ``urgent_use_allowed`` (urgent-use pathway): a prescriber may set the TRD rule aside with a reason; false turns the
  pathway off. Load with
``shared.config.load_settings(IntakeSettings, "INTAKE_")``; tuples are comma-separated in the environment, e.g.
``INTAKE_SYSTOLIC_PLAUSIBLE_RANGE_MMHG=60,260`` or ``INTAKE_RELATIVE_CONTRAINDICATIONS=uncontrolled-hypertension,...``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from services.intake.domain.baseline import ALL_BASELINE_PARTS, BaselinePart
from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS
from services.intake.domain.contraindications import (
    DEFAULT_ABSOLUTE_CONTRAINDICATIONS,
    DEFAULT_RELATIVE_CONTRAINDICATIONS,
    PREGNANCY_OR_BREASTFEEDING,
    ContraindicationClass,
)
from services.intake.domain.cssrs import DEFAULT_CSSRS_HIGH_RISK_ITEMS, DEFAULT_CSSRS_MODERATE_RISK_ITEMS
from services.intake.domain.decision import EligibilityOutcome
from services.intake.domain.medications import (
    DEFAULT_ANTIDEPRESSANT_TERMS,
    DEFAULT_INTERACTING_DRUG_CODES,
    DEFAULT_INTERACTING_DRUG_TERMS,
    DrugCodeTerm,
    DrugNameTerm,
    parse_class_codes,
    parse_class_terms,
)
from shared.fhir.codes import MAJOR_DEPRESSIVE_DISORDER
from shared.pregnancy import (
    DEFAULT_CHILDBEARING_AGE_RANGE_YEARS,
    DEFAULT_NOT_APPLICABLE_SEXES,
    validate_pregnancy_settings,
)
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
    # Coded matches as "class:system|code" (an RxNorm ingredient, or a class code); a trailing "*" matches a code
    # prefix (e.g. an ATC group). Names still match where the EHR sends no such code.
    interacting_drug_codes: tuple[str, ...] = DEFAULT_INTERACTING_DRUG_CODES
    blocking_interacting_drug_classes: tuple[str, ...] = ()
    antidepressant_terms: tuple[str, ...] = DEFAULT_ANTIDEPRESSANT_TERMS

    # Suicidality: which C-SSRS screener items make the risk high / moderate, and what high risk does.
    cssrs_high_risk_items: tuple[str, ...] = DEFAULT_CSSRS_HIGH_RISK_ITEMS
    cssrs_moderate_risk_items: tuple[str, ...] = DEFAULT_CSSRS_MODERATE_RISK_ITEMS
    # High risk without a behavioural-health review: not eligible (Columbia triage); needs-review is the softer option.
    cssrs_high_risk_outcome: EligibilityOutcome = EligibilityOutcome.NOT_ELIGIBLE
    phq9_item9_positive_needs_review: bool = True  # False: listed as information only
    madrs_item10_review_min_score: int = 4  # CLINICAL.md placeholder: unverified
    cssrs_max_age_days: float = 30.0  # the screener asks about the past month: an older screen is screened again

    # Consent: the elements explained and acknowledged (domain/consent.py); all are required.
    consent_elements: tuple[str, ...] = DEFAULT_CONSENT_ELEMENTS

    # Urgent use: a prescriber may set the TRD rule aside with a documented reason.
    urgent_use_allowed: bool = True

    # Pregnancy applicability (shared/pregnancy.py, the same rule and defaults as DOCUMENTATION_*): "not applicable"
    # only for these sexes or outside the age range.
    pregnancy_not_applicable_sexes: tuple[str, ...] = DEFAULT_NOT_APPLICABLE_SEXES
    childbearing_age_range_years: tuple[float, ...] = DEFAULT_CHILDBEARING_AGE_RANGE_YEARS  # placeholder to confirm
    sex_and_age_dependent_contraindications: tuple[str, ...] = (PREGNANCY_OR_BREASTFEEDING,)

    # Plausibility of times and numbers (domain/plausibility.py): data-entry bounds, placeholders to confirm.
    clock_skew_minutes: float = 5.0
    part_time_lookback_days: float = 90.0
    referral_max_age_days: float = 365.0
    trial_duration_plausible_range_weeks: tuple[float, ...] = (0.0, 520.0)
    trial_improvement_plausible_range_pct: tuple[float, ...] = (-300.0, 100.0)
    patient_age_plausible_range_years: tuple[float, ...] = (0.0, 120.0)

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
        classes |= {code.drug_class for code in parse_class_codes(self.interacting_drug_codes)}
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
        if BaselinePart.CSSRS.value not in self.required_baseline_parts:
            # Reviewer R3: without it an intake with no suicide-risk screen at all could be decided eligible.
            raise ValueError("required_baseline_parts must keep cssrs: the C-SSRS triage (moderate → review, high → "
                             "not eligible) needs a screen to triage")
        for code in self.mdd_condition_codes:
            if "|" not in code or not all(code.split("|", 1)):
                raise ValueError(f"mdd_condition_codes entry {code!r} must be 'system|code'")
        self._validate_ranges()
        self._validate_issue_13()

    @property
    def interacting_drug_class_codes(self) -> tuple[DrugCodeTerm, ...]:
        return parse_class_codes(self.interacting_drug_codes)

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
        if not (isinstance(self.cssrs_max_age_days, (int, float)) and not isinstance(self.cssrs_max_age_days, bool)
                and math.isfinite(self.cssrs_max_age_days) and 1 <= self.cssrs_max_age_days <= 90):
            raise ValueError("cssrs_max_age_days must be a finite number of days from 1 to 90 (the screener asks "
                             "about the past month)")
        if self.cssrs_high_risk_outcome is EligibilityOutcome.ELIGIBLE:
            raise ValueError("cssrs_high_risk_outcome must be needs-review or not-eligible")

    def _validate_issue_13(self) -> None:
        if not self.consent_elements:
            raise ValueError("consent_elements must name at least one element")
        for key in self.consent_elements:
            if not _KEY.match(key):
                raise ValueError(f"consent element {key!r} must be lower-case words joined by '-'")
        if len(set(self.consent_elements)) != len(self.consent_elements):
            raise ValueError("consent_elements lists an element twice")
        self.interacting_drug_class_codes  # noqa: B018 - parses, raising ValueError on a malformed entry
        validate_pregnancy_settings(self.pregnancy_not_applicable_sexes, self.childbearing_age_range_years)
        for key in self.sex_and_age_dependent_contraindications:
            if self.contraindication_class(key) is None:
                raise ValueError(f"sex_and_age_dependent_contraindications names an unknown item {key!r}")
        if not 0 <= self.clock_skew_minutes <= 60:
            raise ValueError("clock_skew_minutes must be 0-60")
        if not 1 <= self.part_time_lookback_days <= 3650:
            raise ValueError("part_time_lookback_days must be 1-3650")
        if not 1 <= self.referral_max_age_days <= 3650:
            raise ValueError("referral_max_age_days must be 1-3650")
        for name, lowest, highest in (
            ("childbearing_age_range_years", 0, 130), ("trial_duration_plausible_range_weeks", 0, 5200),
            ("trial_improvement_plausible_range_pct", -10000, 100), ("patient_age_plausible_range_years", 0, 150),
        ):
            bounds = getattr(self, name)
            if (len(bounds) != 2 or not all(math.isfinite(b) for b in bounds)
                    or not lowest <= bounds[0] < bounds[1] <= highest):
                raise ValueError(f"{name} must be two finite numbers 'low,high' with {lowest} <= low < high <= "
                                 f"{highest}")

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
