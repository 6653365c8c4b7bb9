"""Clinic settings for infusion sessions: ``load_settings(SessionSettings, "DOCUMENTATION_")`` at start-up.

Defaults come from the issue text and shared/CLINICAL.md. Two have no documented source and are placeholders the
clinic must confirm: ``vitals_grace_min`` (5) and ``administered_dose_tolerance_percent`` (10).

Issue 13:
- Spacing (defect 6): ``min_hours_between_infusions`` (24 h, placeholder: no source gives a minimum; a Monday/
  Wednesday/Friday induction, CLINICAL.md "Induction", leaves ~40 h or more) from the previous infusion's start to
  the next check-in; the check-in must also fall in the order's window. A prescriber may override either with a
  documented reason (domain/spacing.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class SessionSettings:
    # Pre-infusion hold rules (a first high BP asks for a recheck; only a high recheck holds).
    pre_check_systolic_hold_above_mmhg: int = 140
    pre_check_diastolic_hold_above_mmhg: int = 90
    pre_check_heart_rate_hold_above_per_min: int = 110
    pre_check_spo2_hold_below_percent: float = 94.0
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

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot be right."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool):
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
        if not 0 < self.aldrete_min_score <= 10:
            raise ValueError(f"aldrete_min_score must be 1-10 (5 items scored 0-2), got {self.aldrete_min_score}")
        if not 1 <= self.min_hours_between_infusions <= 48:
            raise ValueError(f"min_hours_between_infusions must be 1-48 h (above 48 a Monday/Wednesday/Friday "
                             f"schedule needs an override every time), got {self.min_hours_between_infusions}")
