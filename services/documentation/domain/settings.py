"""Clinic settings for infusion sessions: ``load_settings(SessionSettings, "DOCUMENTATION_")`` at start-up.

Defaults come from the issue text and shared/CLINICAL.md. Two have no documented source and are placeholders the
clinic must confirm: ``vitals_grace_min`` (5) and ``administered_dose_tolerance_percent`` (10; at most 25, our
bound: it also bounds how far above the bag's volume an administration record may go).

Discharge instructions (issue 13, CLINICAL.md "Products, safety and accountability"): the label says emergence
phenomena can recur up to 24 h, so no driving or machinery until the next day and a responsible adult; the texts
and the contact are the clinic's own wording (comma-separated in the environment, so no commas inside one).
``follow_up_clinic_weekdays`` (ISO 1 = Monday … 7, default Monday-Friday) is when the next-day call can be made.
``controlled_substance_tolerance_mg`` (0.1 mg, placeholder: the rounding of amounts charted to one decimal; at most
5 mg) is how far drawn may differ from given + wasted before the record is refused as not adding up, and how far
"given" may differ from the administration record's computed dose.

Issue 13 (clinical safety) added, all placeholders the clinic must confirm:

- Low-side vital signs (defect 8): systolic < 90 mmHg, heart rate < 50/min, respiratory rate < 10 or > 24/min,
  SpO2 < 92 % are "common procedural-sedation practice" in CLINICAL.md, unverified as defaults; the pre-check
  holds and the flowsheet alerts on each side use them.
- Sedation: the Richmond Agitation-Sedation Scale (RASS, +4 combative … 0 alert and calm … -5 unarousable;
  Sessler CN et al., Am J Respir Crit Care Med 2002;166:1338-44, validated for adults in the ICU and widely used
  in procedural areas). The hold (≤ -2 or ≥ +2 before the infusion) and alert (≤ -3 or ≥ +2 during it) bands
  are our placeholders: no ketamine-specific source was found.
- Severe BP before the infusion (defect 9): at or above the alert thresholds (180/110) the infusion is held at
  once; an override needs a recheck first (the alert thresholds are the source: CLINICAL.md severe hypertension).
- Physiological plausibility (defect 24): a value outside ``plausible_*`` is refused as a typing or device error,
  not charted (distinct from the alert thresholds, which chart and alert). Ranges are generous outer bounds of
  survivable adult values (our choice): systolic 40-300, diastolic 20-200 mmHg, heart rate 20-250/min, SpO2
  50-100 %, respiratory rate 2-60/min. Clinical times may not lie more than ``clinical_time_margin_min`` (60)
  before the session's check-in (or its scheduled start before check-in).
- Day-of-infusion suicide-risk check (defect 5): the C-SSRS screener at each pre-check (``pre_check_cssrs_required``,
  on), triaged per Columbia (CLINICAL.md): items 1-2 low, item 3 (and lifetime behaviour) moderate, items 4-5 or
  behaviour in the past 3 months high — the same item lists as the intake and the course (shared/scales.py).
- Site readiness (feature): the clinic's checklist, confirmed item by item before the infusion starts.
- Spacing (defect 6): ``min_hours_between_infusions`` (24 h, placeholder: no source gives a minimum; a Monday/
  Wednesday/Friday induction, CLINICAL.md "Induction", leaves ~40 h or more) from the previous infusion's start to
  the next check-in; the check-in must also fall in the order's window. A prescriber may override either with a
  documented reason (domain/spacing.py).
- Pregnancy check (defect 18): "not applicable" only when the EHR Patient read on the day rules pregnancy out
  (``shared/pregnancy.py``, the same rule and defaults as intake's ``INTAKE_*``, which the clinic sets alike):
  ``pregnancy_not_applicable_sexes`` (male) or an age outside ``childbearing_age_range_years`` (10-55 years,
  placeholder: no source was read).
- Fasting (defect 18): the times of the last solid food and the last clear fluids are recorded and checked against
  ``fasting_solids_hours`` (6 h) and ``fasting_clear_fluids_hours`` (2 h): the minimum fasting periods of the ASA
  practice guideline for preoperative fasting (American Society of Anesthesiologists Task Force, Anesthesiology
  2017;126:376-93, updated 2023), written for procedures under general anaesthesia, regional anaesthesia or
  procedural sedation, not for a sub-anaesthetic ketamine infusion: placeholders the clinic must confirm (its own
  fasting instructions, given at consent). A window not met holds the infusion and cannot be overridden (wait and
  check again). A time more than ``fasting_time_max_hours_before_check`` (168 h, our bound) before the check is
  refused as a typing error (wrong date).
- Pre-check readings (defect 8 follow-up): ``pre_check_required_readings`` lists the readings a pre-check must have
  (default systolic and diastolic BP, heart rate, SpO2, respiratory rate and RASS: every vital sign the hold rules
  look at, so none is cleared unseen). Our choice, not a source: BP, heart rate and SpO2 can never be removed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from services.documentation.domain.vitals import RASS_MAX, RASS_MIN
from shared.pregnancy import (
    DEFAULT_CHILDBEARING_AGE_RANGE_YEARS,
    DEFAULT_NOT_APPLICABLE_SEXES,
    validate_pregnancy_settings,
)
from shared.scales import (
    DEFAULT_CSSRS_HIGH_RISK_ITEMS,
    DEFAULT_CSSRS_MODERATE_RISK_ITEMS,
    validate_cssrs_risk_items,
)

# Our bound (no source): beyond a quarter of the ordered dose a difference is never a tolerance, it needs a reason;
# the same margin bounds how far above the bag's volume a record may go (administration.py).
MAX_ADMINISTERED_DOSE_TOLERANCE_PERCENT = 25.0

# The readings a pre-check may require, in the order of the form; the first four can never be dropped.
PRE_CHECK_READINGS: tuple[str, ...] = (
    "systolic_mmhg", "diastolic_mmhg", "heart_rate_per_min", "spo2_percent", "respiratory_rate_per_min", "rass_score",
)
ALWAYS_REQUIRED_PRE_CHECK_READINGS: tuple[str, ...] = PRE_CHECK_READINGS[:4]


@dataclass(frozen=True)
class SessionSettings:
    # Pre-infusion hold rules (a first high BP asks for a recheck; only a high recheck holds).
    pre_check_systolic_hold_above_mmhg: int = 140
    pre_check_diastolic_hold_above_mmhg: int = 90
    pre_check_heart_rate_hold_above_per_min: int = 110
    pre_check_spo2_hold_below_percent: float = 94.0
    # Low side before the infusion (hold) and respiratory rate (issue 13 defect 8; CLINICAL.md, unverified).
    pre_check_systolic_hold_below_mmhg: int = 90
    pre_check_heart_rate_hold_below_per_min: int = 50
    pre_check_respiratory_rate_hold_below_per_min: int = 10
    pre_check_respiratory_rate_hold_above_per_min: int = 24
    # RASS (Sessler 2002) before the infusion: hold at or below / at or above (placeholders).
    pre_check_rass_hold_at_or_below: int = -2
    pre_check_rass_hold_at_or_above: int = 2
    # The readings a pre-check must have (a missing one is refused, 400 naming it): every vital sign the hold rules
    # look at (defect 8 follow-up: a check without RR or RASS cleared the patient without looking at them). BP, heart
    # rate and SpO2 can never be removed; a clinic that does not chart RR or RASS before infusions may drop them.
    pre_check_required_readings: tuple[str, ...] = PRE_CHECK_READINGS
    # The day's C-SSRS screener in the pre-check (defect 5); item lists as in shared/scales.py (Columbia triage).
    pre_check_cssrs_required: bool = True
    cssrs_high_risk_items: tuple[str, ...] = DEFAULT_CSSRS_HIGH_RISK_ITEMS
    cssrs_moderate_risk_items: tuple[str, ...] = DEFAULT_CSSRS_MODERATE_RISK_ITEMS
    # Site readiness: the clinic's checklist, each item confirmed before the infusion starts (keys, in order).
    site_readiness_items: tuple[str, ...] = (
        "monitoring-ready", "airway-equipment-checked", "emergency-drugs-available", "airway-trained-clinician-present",
    )
    # Pregnancy check (defect 18; shared/pregnancy.py): "not applicable" only for these sexes or outside the ages.
    pregnancy_not_applicable_sexes: tuple[str, ...] = DEFAULT_NOT_APPLICABLE_SEXES
    childbearing_age_range_years: tuple[float, ...] = DEFAULT_CHILDBEARING_AGE_RANGE_YEARS  # placeholder to confirm
    # Fasting windows before the infusion (defect 18; ASA preoperative fasting guideline, placeholders to confirm).
    fasting_solids_hours: float = 6.0
    fasting_clear_fluids_hours: float = 2.0
    fasting_time_max_hours_before_check: int = 168  # an older time is a typing error (wrong date)
    # Latest weight vs the weight the dose was computed from; beyond this the dose needs recalculation.
    weight_change_tolerance_percent: float = 5.0

    # Flowsheet: a reading is due every interval; one taken within the grace either side of that time counts.
    infusion_vitals_interval_min: int = 15
    recovery_vitals_interval_min: int = 15
    vitals_grace_min: int = 5

    # Alert thresholds during the session (a value at/above or below these raises an alert needing an action).
    alert_systolic_at_or_above_mmhg: int = 180
    alert_diastolic_at_or_above_mmhg: int = 110
    alert_heart_rate_at_or_above_per_min: int = 130
    alert_spo2_below_percent: float = 92.0
    # Low side and respiratory rate during the session (defect 8; CLINICAL.md, unverified).
    alert_systolic_below_mmhg: int = 90
    alert_heart_rate_below_per_min: int = 50
    alert_respiratory_rate_below_per_min: int = 10
    alert_respiratory_rate_above_per_min: int = 24
    # RASS during the session: alert at or below / at or above (placeholders).
    alert_rass_at_or_below: int = -3
    alert_rass_at_or_above: int = 2

    # Plausibility (defect 24): values outside are refused as errors, not charted; distinct from alert thresholds.
    plausible_systolic_min_mmhg: int = 40
    plausible_systolic_max_mmhg: int = 300
    plausible_diastolic_min_mmhg: int = 20
    plausible_diastolic_max_mmhg: int = 200
    plausible_heart_rate_min_per_min: int = 20
    plausible_heart_rate_max_per_min: int = 250
    plausible_spo2_min_percent: float = 50.0
    plausible_spo2_max_percent: float = 100.0
    plausible_respiratory_rate_min_per_min: int = 2
    plausible_respiratory_rate_max_per_min: int = 60
    # A clinical time may lie at most this long before check-in (before the scheduled start until then).
    clinical_time_margin_min: int = 60

    # CADSS timepoints: minutes after infusion start, and optionally at the end of recovery.
    cadss_minutes_after_start: tuple[int, ...] = (40,)
    cadss_at_end_of_recovery: bool = True

    # Administration: given dose (computed or entered) vs the ordered dose.
    administered_dose_tolerance_percent: float = 10.0

    # Recovery and discharge.
    min_recovery_observation_min: int = 30
    discharge_systolic_margin_mmhg: int = 20
    discharge_heart_rate_margin_per_min: int = 20
    aldrete_required: bool = True
    aldrete_min_score: int = 9

    # Spacing (issue 13 defect 6): the minimum time from the previous infusion's start to the next check-in. A floor
    # that never refuses a normal schedule (Monday/Wednesday/Friday, CLINICAL.md "Induction", is >= ~40 h between
    # infusions) but refuses two infusions on one day; consecutive days are kept out by the order's windows
    # (ORDERS_MIN_DAYS_BETWEEN_INFUSIONS). 24 h is our placeholder (no source gives a minimum): 1-48 h.
    min_hours_between_infusions: int = 24

    # Discharge instructions given and acknowledged (never overridable), and the next-day follow-up call.
    discharge_instructions: tuple[str, ...] = (
        "No driving or operating machinery until the next day",
        "A responsible adult stays with you for the rest of the day",
        "No alcohol or sedating medicines until the next day",
    )
    discharge_contact: str = "Call the clinic on the number on your discharge sheet; in an emergency call 911"
    follow_up_clinic_weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)

    # Controlled-substance record: drawn = given + wasted within this (mg).
    controlled_substance_tolerance_mg: float = 0.1

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot be right."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                # NaN compares false with everything: an alert "below NaN" never fires, a tolerance of NaN
                # accepts any controlled-substance record; inf likewise never fires or accepts everything.
                raise ValueError(f"{field.name} must be a finite number, got {value}")
            if isinstance(value, bool) or field.name in _SIGNED:
                continue
            if isinstance(value, (int, float)) and value <= 0:
                raise ValueError(f"{field.name} must be positive, got {value}")
        for name in (
            "pre_check_spo2_hold_below_percent",
            "alert_spo2_below_percent",
            "weight_change_tolerance_percent",
            "administered_dose_tolerance_percent",
        ):
            if getattr(self, name) > 100:
                raise ValueError(f"{name} is a percentage (0-100), got {getattr(self, name)}")
        shortest_interval_min = min(self.infusion_vitals_interval_min, self.recovery_vitals_interval_min)
        if self.vitals_grace_min * 2 >= shortest_interval_min:
            raise ValueError(
                f"vitals_grace_min ({self.vitals_grace_min}) must be under half the shortest vitals interval "
                f"({shortest_interval_min} min), or one reading would count for two due times"
            )
        if any(minute <= 0 for minute in self.cadss_minutes_after_start):
            raise ValueError(
                f"cadss_minutes_after_start must be positive minutes, got {self.cadss_minutes_after_start}"
            )
        if len(set(self.cadss_minutes_after_start)) != len(self.cadss_minutes_after_start):
            raise ValueError(f"cadss_minutes_after_start has a repeated time: {self.cadss_minutes_after_start}")
        self._validate_safety()
        if not self.discharge_instructions or any(not text.strip() for text in self.discharge_instructions):
            raise ValueError("discharge_instructions must list at least one non-empty instruction")
        if not self.discharge_contact.strip():
            raise ValueError("discharge_contact must say who to call")
        weekdays = self.follow_up_clinic_weekdays
        if not weekdays or any(not 1 <= day <= 7 for day in weekdays) or len(set(weekdays)) != len(weekdays):
            raise ValueError(f"follow_up_clinic_weekdays must be distinct ISO weekdays 1-7, got {weekdays}")
        if self.administered_dose_tolerance_percent > MAX_ADMINISTERED_DOSE_TOLERANCE_PERCENT:
            raise ValueError(
                f"administered_dose_tolerance_percent above {MAX_ADMINISTERED_DOSE_TOLERANCE_PERCENT}% would pass a "
                f"dose far from the order (at 100% none at all, or twice the bag) without a reason, got "
                f"{self.administered_dose_tolerance_percent}")
        if self.controlled_substance_tolerance_mg > 5:
            raise ValueError(
                f"controlled_substance_tolerance_mg above 5 mg would hide a diversion, got "
                f"{self.controlled_substance_tolerance_mg}"
            )
        if not 0 < self.aldrete_min_score <= 10:
            raise ValueError(f"aldrete_min_score must be 1-10 (5 items scored 0-2), got {self.aldrete_min_score}")
        if not 1 <= self.min_hours_between_infusions <= 48:
            raise ValueError(f"min_hours_between_infusions must be 1-48 h (above 48 a Monday/Wednesday/Friday "
                             f"schedule needs an override every time), got {self.min_hours_between_infusions}")

    def _validate_safety(self) -> None:
        """Issue 13's settings: each low side under its high side, RASS within the scale, known C-SSRS items."""
        pairs = (
            ("pre_check_systolic_hold_below_mmhg", "pre_check_systolic_hold_above_mmhg"),
            ("pre_check_heart_rate_hold_below_per_min", "pre_check_heart_rate_hold_above_per_min"),
            ("pre_check_respiratory_rate_hold_below_per_min", "pre_check_respiratory_rate_hold_above_per_min"),
            ("pre_check_rass_hold_at_or_below", "pre_check_rass_hold_at_or_above"),
            ("alert_systolic_below_mmhg", "alert_systolic_at_or_above_mmhg"),
            ("alert_heart_rate_below_per_min", "alert_heart_rate_at_or_above_per_min"),
            ("alert_respiratory_rate_below_per_min", "alert_respiratory_rate_above_per_min"),
            ("alert_rass_at_or_below", "alert_rass_at_or_above"),
            ("plausible_systolic_min_mmhg", "plausible_systolic_max_mmhg"),
            ("plausible_diastolic_min_mmhg", "plausible_diastolic_max_mmhg"),
            ("plausible_heart_rate_min_per_min", "plausible_heart_rate_max_per_min"),
            ("plausible_spo2_min_percent", "plausible_spo2_max_percent"),
            ("plausible_respiratory_rate_min_per_min", "plausible_respiratory_rate_max_per_min"),
        )
        for low, high in pairs:
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low)}) must be below {high} ({getattr(self, high)})")
        for vital, thresholds in _THRESHOLDS.items():
            low = getattr(self, f"plausible_{vital}_min{_UNIT[vital]}")
            high = getattr(self, f"plausible_{vital}_max{_UNIT[vital]}")
            for name in thresholds:
                # Outside the plausible range a threshold can never be crossed (such readings are refused).
                if not low < getattr(self, name) < high:
                    raise ValueError(f"{name} ({getattr(self, name)}) must lie inside the plausible range "
                                     f"({low}-{high}), or it never holds or alerts")
        for name in _SIGNED:
            if not RASS_MIN <= getattr(self, name) <= RASS_MAX:
                raise ValueError(f"{name} is a RASS score ({RASS_MIN} to +{RASS_MAX}), got {getattr(self, name)}")
        if self.plausible_spo2_max_percent > 100:
            raise ValueError(f"plausible_spo2_max_percent cannot exceed 100, got {self.plausible_spo2_max_percent}")
        validate_cssrs_risk_items(self.cssrs_high_risk_items, self.cssrs_moderate_risk_items)
        if len(set(self.site_readiness_items)) != len(self.site_readiness_items):
            raise ValueError(f"site_readiness_items has a repeated item: {self.site_readiness_items}")
        if any(not item.strip() or len(item) > 64 for item in self.site_readiness_items):
            raise ValueError("site_readiness_items are short keys (1-64 characters)")
        validate_pregnancy_settings(self.pregnancy_not_applicable_sexes, self.childbearing_age_range_years)
        self._validate_fasting()
        self._validate_required_readings()

    def _validate_required_readings(self) -> None:
        """Only known readings, none twice, and never without BP, heart rate and SpO2 (the hold rules' minimum)."""
        required = self.pre_check_required_readings
        unknown = [name for name in required if name not in PRE_CHECK_READINGS]
        if unknown:
            raise ValueError(f"pre_check_required_readings: unknown reading(s) {unknown}; known: {PRE_CHECK_READINGS}")
        if len(set(required)) != len(required):
            raise ValueError(f"pre_check_required_readings has a repeated reading: {required}")
        missing = [name for name in ALWAYS_REQUIRED_PRE_CHECK_READINGS if name not in required]
        if missing:
            raise ValueError(f"pre_check_required_readings must include {missing}: the pre-check cannot clear a "
                             "patient without blood pressure, heart rate and SpO2")

    def _validate_fasting(self) -> None:
        """Clear fluids never need a longer fast than solids; a window over 24 h or a bound under 24 h or over
        30 days is a typing error (the bound must leave room for the longest window)."""
        if not 0 < self.fasting_clear_fluids_hours <= self.fasting_solids_hours <= 24:
            raise ValueError(f"fasting windows must be 0 < fasting_clear_fluids_hours "
                             f"({self.fasting_clear_fluids_hours}) <= fasting_solids_hours "
                             f"({self.fasting_solids_hours}) <= 24")
        if not 24 <= self.fasting_time_max_hours_before_check <= 720:
            raise ValueError(f"fasting_time_max_hours_before_check must be 24-720 h, got "
                             f"{self.fasting_time_max_hours_before_check}")


# The hold and alert thresholds of each vital sign, checked to lie inside its plausible_* range.
_THRESHOLDS: dict[str, tuple[str, ...]] = {
    "systolic": ("pre_check_systolic_hold_above_mmhg", "pre_check_systolic_hold_below_mmhg",
                 "alert_systolic_at_or_above_mmhg", "alert_systolic_below_mmhg"),
    "diastolic": ("pre_check_diastolic_hold_above_mmhg", "alert_diastolic_at_or_above_mmhg"),
    "heart_rate": ("pre_check_heart_rate_hold_above_per_min", "pre_check_heart_rate_hold_below_per_min",
                   "alert_heart_rate_at_or_above_per_min", "alert_heart_rate_below_per_min"),
    "spo2": ("pre_check_spo2_hold_below_percent", "alert_spo2_below_percent"),
    "respiratory_rate": ("pre_check_respiratory_rate_hold_below_per_min",
                         "pre_check_respiratory_rate_hold_above_per_min", "alert_respiratory_rate_below_per_min",
                         "alert_respiratory_rate_above_per_min"),
}
_UNIT = {"systolic": "_mmhg", "diastolic": "_mmhg", "heart_rate": "_per_min", "spo2": "_percent",
         "respiratory_rate": "_per_min"}
_SIGNED = frozenset({"pre_check_rass_hold_at_or_below", "pre_check_rass_hold_at_or_above", "alert_rass_at_or_below",
                     "alert_rass_at_or_above"})
