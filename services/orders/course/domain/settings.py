"""Clinic settings for the treatment course (env prefix ``ORDERS_COURSE_``), each default with its source.

Load with ``shared.config.load_settings(CourseSettings, "ORDERS_COURSE_")``; tuples are comma-separated, e.g.
``ORDERS_COURSE_PRE_INFUSION_INSTRUMENTS=phq-9,cssrs``; a remission score of ``none`` switches that rule off.

Sources (shared/CLINICAL.md unless marked unverified, i.e. a placeholder the clinic must confirm):
- Response ≥ 50% drop from baseline: CLINICAL.md ("Scales, response, remission").
- Remission PHQ-9 < 5 and MADRS ≤ 10 (KetECT; some studies ≤ 12, so a clinic may set 12): CLINICAL.md, which asks
  for the threshold to be stored with the rule (``rules.RemissionRule``).
- QIDS-SR16 remission ≤ 5 (the STAR*D convention): unverified, not in CLINICAL.md. GAD-7: no remission rule by default
  (GAD-7 measures anxiety; the issue defines none).
- Primary scale PHQ-9: the issue (PHQ-9 before each infusion, the others optional).
- Loss of response = 2 consecutive scores below a 50% drop after a response: unverified. (Its settings were once
  named "relapse"; the old variables ``ORDERS_COURSE_RELAPSE_DROP_BELOW_PCT`` / ``_RELAPSE_CONSECUTIVE_SCORES`` are
  refused at start-up, see ``RENAMED_VARIABLES``, so a clinic's value is never silently dropped.)
- Relapse after remission: SUSTAIN-1 (esketamine) used MADRS ≥ 22 on two consecutive assessments, or hospitalisation
  or suicide attempt (CLINICAL.md, "verify before use": **unverified**, clinic settings). Only MADRS has a relapse
  score by default; ``{scale}_relapse_score`` sets one for another scale (none is published for them here). A
  hospitalisation or suicide attempt after remission is a relapse on every scale with a remission rule
  (``relapse_on_clinical_events``); without a remission rule there is no remission to relapse from.
- Response check after the induction series: the series' own count (ORDERS_INDUCTION_INFUSION_COUNT, 6: CLINICAL.md
  "Induction"). An extension may go up to 12 infusions in all (the issue: ~20% of patients first respond at
  infusions 10-12): unverified.
- Maintenance re-evaluation every 90 days: unverified (CANMAT 2021: no validated maintenance schedule).
- Suicidality alert from a C-SSRS screener risk of moderate or above, and from PHQ-9 item 9 above 0 (as the intake
  flags it): unverified.
- Suicide items of the other scales alert too (CLINICAL.md "Products, safety and accountability"): MADRS item 10
  (0-6) at 4 or above and QIDS-SR16 item 12 (0-3) at 2 or above. Both thresholds are CLINICAL.md's own placeholders:
  **unverified**, the clinic must confirm them. The alert is ``high`` from MADRS item 10 = 6 and QIDS-SR16 item 12 = 3
  (the items' top answers, which describe plans or preparations: a design choice, unverified), ``moderate`` below.
  ``validate`` keeps every threshold within its item's range (0 would alert on every score; above the top answer
  never). High/moderate C-SSRS items: the intake's defaults (intent, plan with intent, behaviour in
  the past 3 months → high; method, lifetime behaviour → moderate).
- Integration session 24-72 h after an infusion: the issue's example; unverified.
- Remission goal due 28 days after the course starts (the default 21-day induction plus the 7-day re-evaluation,
  ORDERS_INDUCTION_MAX_SPAN_DAYS and ORDERS_REEVALUATION_DAYS_AFTER_INDUCTION): unverified.
- Export age bands of 10 years with everyone 90 or older in one band "90+": the HIPAA Safe Harbor rule
  (45 CFR 164.514(b)(2)(i)(C): ages over 89 aggregated); not in CLINICAL.md. ``validate`` refuses a top band above 90.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from services.orders.course.domain.rules import (
    Comparison,
    LossOfResponseRule,
    RelapseRule,
    RemissionRule,
    ResponseRule,
)
from services.orders.domain.settings import ProtocolSettings
from shared.scales import (
    DEFAULT_CSSRS_HIGH_RISK_ITEMS,
    DEFAULT_CSSRS_MODERATE_RISK_ITEMS,
    DEFINITIONS,
    CssrsRisk,
    Scale,
    validate_cssrs_risk_items,
)

CSSRS_INSTRUMENT = "cssrs"  # in ``pre_infusion_instruments`` beside the Scale values
SAFE_HARBOR_TOP_AGE_BAND = 90  # ages over 89 are reported only as "90+"


@dataclass(frozen=True)
class CourseSettings:
    primary_scale: Scale = Scale.PHQ9
    response_min_drop_pct: float = 50.0
    phq9_remission_score: float | None = 5.0
    phq9_remission_comparison: Comparison = Comparison.BELOW
    madrs_remission_score: float | None = 10.0
    madrs_remission_comparison: Comparison = Comparison.AT_MOST
    qids_sr16_remission_score: float | None = 5.0  # unverified
    qids_sr16_remission_comparison: Comparison = Comparison.AT_MOST
    gad7_remission_score: float | None = None
    gad7_remission_comparison: Comparison = Comparison.BELOW
    loss_of_response_drop_below_pct: float = 50.0  # unverified
    loss_of_response_consecutive_scores: int = 2  # unverified
    madrs_relapse_score: float | None = 22.0  # SUSTAIN-1 via CLINICAL.md: unverified
    phq9_relapse_score: float | None = None
    qids_sr16_relapse_score: float | None = None
    gad7_relapse_score: float | None = None
    relapse_consecutive_assessments: int = 2  # SUSTAIN-1 via CLINICAL.md: unverified
    relapse_on_clinical_events: bool = True  # hospitalisation or suicide attempt after remission (SUSTAIN-1)
    induction_extension_max_infusions: int = 12  # unverified
    maintenance_reevaluation_days: int = 90  # unverified
    pre_infusion_instruments: tuple[str, ...] = (Scale.PHQ9.value,)
    suicidality_alert_min_cssrs_risk: CssrsRisk = CssrsRisk.MODERATE  # unverified
    cssrs_high_risk_items: tuple[str, ...] = DEFAULT_CSSRS_HIGH_RISK_ITEMS
    cssrs_moderate_risk_items: tuple[str, ...] = DEFAULT_CSSRS_MODERATE_RISK_ITEMS
    phq9_item9_alert: bool = True  # kept only to refuse false: every scale's suicide item alerts
    phq9_item9_alert_min_score: int = 1  # any answer above 0, as the intake flags it
    madrs_item10_alert_min_score: int = 4  # CLINICAL.md placeholder: unverified
    madrs_item10_high_alert_min_score: int = 6  # unverified design choice
    qids_sr16_item12_alert_min_score: int = 2  # CLINICAL.md placeholder: unverified
    qids_sr16_item12_high_alert_min_score: int = 3  # unverified design choice
    integration_window_start_hours: int = 24  # unverified
    integration_window_end_hours: int = 72  # unverified
    remission_goal_due_days: int = 28  # unverified
    export_age_band_years: int = 10
    export_top_age_band_years: int = SAFE_HARBOR_TOP_AGE_BAND

    def response_rule(self) -> ResponseRule:
        return ResponseRule(self.response_min_drop_pct)

    def loss_of_response_rule(self) -> LossOfResponseRule:
        return LossOfResponseRule(self.loss_of_response_drop_below_pct, self.loss_of_response_consecutive_scores)

    def relapse_rule(self, scale: Scale) -> RelapseRule | None:
        """Relapse after remission on ``scale``: by its relapse score when the clinic has one, and by a
        hospitalisation or suicide attempt unless switched off; None when neither applies."""
        threshold = getattr(self, f"{_SETTING_PREFIX[scale]}_relapse_score")
        if threshold is None and not self.relapse_on_clinical_events:
            return None
        return RelapseRule(scale, None if threshold is None else float(threshold),
                           self.relapse_consecutive_assessments, self.relapse_on_clinical_events)

    def remission_rule(self, scale: Scale) -> RemissionRule | None:
        """The clinic's remission rule for ``scale``; None when it has none (switched off)."""
        prefix = _SETTING_PREFIX[scale]
        threshold = getattr(self, f"{prefix}_remission_score")
        if threshold is None:
            return None
        return RemissionRule(scale, getattr(self, f"{prefix}_remission_comparison"), float(threshold))

    def suicide_item_alert(self, scale: Scale) -> SuicideItemAlertRule | None:
        """When the scale's suicide item alerts; None for a scale without one (GAD-7)."""
        prefix = _SUICIDE_ITEM_PREFIX.get(scale)
        if prefix is None:
            return None
        return SuicideItemAlertRule(scale, getattr(self, f"{prefix}_alert_min_score"),
                                    getattr(self, f"{prefix}_high_alert_min_score", None))

    @property
    def pre_infusion_scales(self) -> tuple[Scale, ...]:
        return tuple(Scale(key) for key in self.pre_infusion_instruments if key != CSSRS_INSTRUMENT)

    @property
    def cssrs_before_infusion(self) -> bool:
        return CSSRS_INSTRUMENT in self.pre_infusion_instruments

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent setting (checked once at start-up)."""
        _require(self.phq9_item9_alert, "phq9_item9_alert cannot be switched off: every scale's suicide item alerts; "
                                        "set its threshold with phq9_item9_alert_min_score")
        for name in ("response_min_drop_pct", "loss_of_response_drop_below_pct"):
            value = getattr(self, name)
            _require(math.isfinite(value) and 0 < value <= 100, f"{name} must be above 0 and at most 100")
        for scale, prefix in _SETTING_PREFIX.items():
            threshold = getattr(self, f"{prefix}_remission_score")
            total_max = DEFINITIONS[scale].total_max
            _require(threshold is None or (math.isfinite(threshold) and 0 < threshold <= total_max),
                     f"{prefix}_remission_score must be empty or above 0 and at most {total_max}")
        _require(self.loss_of_response_consecutive_scores >= 1,
                 "loss_of_response_consecutive_scores must be at least 1")
        for scale, prefix in _SETTING_PREFIX.items():
            relapse = getattr(self, f"{prefix}_relapse_score")
            remission = getattr(self, f"{prefix}_remission_score")
            total_max = DEFINITIONS[scale].total_max
            _require(relapse is None or (math.isfinite(relapse) and 0 < relapse <= total_max),
                     f"{prefix}_relapse_score must be empty or above 0 and at most {total_max}")
            # A relapse score at or below remission would call a patient in remission relapsed.
            _require(relapse is None or remission is None or relapse > remission,
                     f"{prefix}_relapse_score must be above {prefix}_remission_score")
        _require(1 <= self.relapse_consecutive_assessments <= 10,
                 "relapse_consecutive_assessments must be from 1 to 10")
        _require(self.induction_extension_max_infusions >= 1, "induction_extension_max_infusions must be at least 1")
        _require(self.maintenance_reevaluation_days >= 1, "maintenance_reevaluation_days must be at least 1")
        known = {scale.value for scale in Scale} | {CSSRS_INSTRUMENT}
        unknown = sorted(set(self.pre_infusion_instruments) - known)
        _require(not unknown, f"pre_infusion_instruments has unknown instruments {unknown}; "
                              f"known: {', '.join(sorted(known))}")
        validate_cssrs_risk_items(self.cssrs_high_risk_items, self.cssrs_moderate_risk_items)
        for scale, prefix in _SUICIDE_ITEM_PREFIX.items():
            item_max = DEFINITIONS[scale].item_max
            alert_min = getattr(self, f"{prefix}_alert_min_score")
            _require(_is_int(alert_min) and 1 <= alert_min <= item_max,
                     f"{prefix}_alert_min_score must be a whole number from 1 to {item_max}")
            high_min = getattr(self, f"{prefix}_high_alert_min_score", None)
            if high_min is not None:
                _require(_is_int(high_min) and alert_min <= high_min <= item_max,
                         f"{prefix}_high_alert_min_score must be a whole number from {prefix}_alert_min_score "
                         f"({alert_min}) to {item_max}")
        _require(self.suicidality_alert_min_cssrs_risk is not CssrsRisk.NONE,
                 "suicidality_alert_min_cssrs_risk must be low, moderate or high")
        _require(0 <= self.integration_window_start_hours < self.integration_window_end_hours,
                 "integration window must satisfy 0 <= integration_window_start_hours < "
                 "integration_window_end_hours")
        _require(self.remission_goal_due_days >= 1, "remission_goal_due_days must be at least 1")
        _require(self.export_age_band_years >= 1, "export_age_band_years must be at least 1")
        _require(self.export_age_band_years <= self.export_top_age_band_years <= SAFE_HARBOR_TOP_AGE_BAND,
                 f"export_top_age_band_years must lie between export_age_band_years and "
                 f"{SAFE_HARBOR_TOP_AGE_BAND} (ages over 89 may only be exported as one band)")

    def validate_with(self, protocol: ProtocolSettings) -> None:
        """Checks against the order protocol (run at start-up beside ``validate``): an extension must allow more
        infusions than the default induction, and a course must be able to plan every induction series the clinic
        lets a prescriber sign (the course starts with the signed series' count)."""
        _require(self.induction_extension_max_infusions >= protocol.induction_infusion_count,
                 "induction_extension_max_infusions must not be below ORDERS_INDUCTION_INFUSION_COUNT")
        _require(self.induction_extension_max_infusions >= protocol.induction_max_infusions,
                 "induction_extension_max_infusions must not be below ORDERS_INDUCTION_MAX_INFUSIONS")


_SETTING_PREFIX = {Scale.PHQ9: "phq9", Scale.MADRS: "madrs", Scale.QIDS_SR16: "qids_sr16", Scale.GAD7: "gad7"}
# Variables renamed ("relapse" meant loss of response) → the new name. Set, the old name stops the service
# (``refuse_renamed``) instead of being ignored while the default applies.
RENAMED_VARIABLES = {
    "RELAPSE_DROP_BELOW_PCT": "LOSS_OF_RESPONSE_DROP_BELOW_PCT",
    "RELAPSE_CONSECUTIVE_SCORES": "LOSS_OF_RESPONSE_CONSECUTIVE_SCORES",
}


def refuse_renamed(environ: Mapping[str, str], prefix: str) -> None:
    """Raise ValueError naming the first renamed variable still set."""
    for old, new in RENAMED_VARIABLES.items():
        if environ.get(f"{prefix}{old}"):
            raise ValueError(f"{prefix}{old} was renamed {prefix}{new} (it is the loss-of-response rule; relapse "
                             f"after remission has its own settings): set {prefix}{new} instead")
# The settings of each scale's suicide item (shared.scales.DEFINITIONS names the item).
_SUICIDE_ITEM_PREFIX = {Scale.PHQ9: "phq9_item9", Scale.MADRS: "madrs_item10", Scale.QIDS_SR16: "qids_sr16_item12"}


@dataclass(frozen=True)
class SuicideItemAlertRule:
    """A scale's suicide item alerts from ``alert_min_score``; the alert is high from ``high_alert_min_score``
    (None: never high, e.g. PHQ-9 item 9, which says there are thoughts, not how serious they are)."""

    scale: Scale
    alert_min_score: int
    high_alert_min_score: int | None = None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
