"""Clinic protocol settings for ketamine infusion orders (env prefix ``ORDERS_``).

Defaults and their sources (see shared/CLINICAL.md):
- 0.5 mg/kg over 40 min: Singh 2016, ELEKT-D 2023, Dunlop 2018. Allowed 0.1-1.0 mg/kg (Fava 2018 dose-finding) and
  40-60 min (clinic practice). Above ``max_dose_mg_per_kg`` a documented override is needed, and even then never
  above ``override_max_dose_mg_per_kg`` (1.5: an unverified placeholder the clinic must confirm; it exists so a
  typing error such as 5 mg/kg is refused even with an override).
- Weight basis: actual body weight, as in the trials; ideal/adjusted offered. ABW factor 0.4 (the usual
  adjusted-body-weight formula). No guideline cap, so ``dose_cap_mg`` is off by default.
- Products (``products.py``: 10, 50 and 100 mg/mL in the catalogue): ``stocked_products`` names the ones the
  clinic stocks (default ``ketamine-10`` only) and ``dosing_product`` the one Ketalink's own orders are drawn from
  (default ``ketamine-10``: the issue's worked example, 40 mg → 4 mL; 10 mg/mL vials are measured more accurately
  than 0.4 mL of 100 mg/mL, which must be diluted before IV use in any case). The coded product, the concentration
  in the dosing text and the drug volume all come from that one product; a CPOE order for another stocked product
  is dosed at its strength, one for an unstocked product is refused. ``drug_concentration_mg_per_ml`` is gone: a
  value still set is refused at start-up so a clinic that set 50 cannot silently get 10.
- Drawn volume: ``volume_rounding_ml`` empty (default) uses the product's increment (1 mg per increment: 0.1 mL at
  10 mg/mL, 0.02 mL at 50, 0.01 mL at 100). The dose the rounded volume delivers (volume × strength) must be
  within ``drawn_dose_tolerance_percent`` (default 5%, a placeholder the clinic must confirm; allowed 0.5-10) of
  the rounded dose, else the order is refused naming both doses (at 100 mg/mL in 0.1 mL steps 25 mg → 0.3 mL =
  30 mg, +20%).
- Bag: 100 mL 0.9% sodium chloride; total bag volume = diluent + drug volume by default
  (``BagVolumeRule.DILUENT_PLUS_DRUG``); a clinic that first withdraws the drug volume from the bag uses
  ``diluent-only`` (total = the diluent volume).
- Rounding (half-up): dose to 1 mg, drug volume to 0.1 mL, pump rate to 0.1 mL/h.
- Weight must be recorded within 30 days (issue 4), and lie in ``weight_plausible_range_kg`` (20-400 kg, intake's
  ``INTAKE_WEIGHT_PLAUSIBLE_RANGE_KG`` default: a data-entry bound, a placeholder the clinic must confirm, not a
  clinical threshold). The dose is mg/kg × weight, so an EHR weight typed 800 for 80 would otherwise give 400 mg.
- Induction: 6 infusions, 2 per week by default (ELEKT-D), 2-3 per week allowed, within 21 days (Murrough 2013,
  Singh 2016, ELEKT-D); per-patient counts up to 8 (ORKA-1 real-world upper bound).
- ``clinic_timezone``: the zone in which "today" and the days of the infusion windows are counted. Not an
  ``ORDERS_*`` setting: the clinic's one zone, ``KETALINK_CLINIC_TIMEZONE`` (required; ``shared/clinic_time.py``),
  which ``bootstrap`` puts here. UTC only in tests that build the settings themselves.
- Re-evaluation due 7 days after the last induction infusion, maintenance interval 7-90 days: unverified
  placeholders (CANMAT 2021: no validated maintenance schedule); the clinic must confirm them.
- Spacing: ``min_days_between_infusions`` 2 (Murrough 2013: 3 per week over 12 days, i.e.
  Monday/Wednesday/Friday, never consecutive days; CLINICAL.md "Induction"). When an infusion is given, the next
  infusion's window starts no sooner than this many clinic days later. 1 allows consecutive days; times
  ``induction_max_infusions_per_week`` it must fit in a week.
- Make-ups: an induction infusion that never began (deferred, cancelled) is made up by one more
  infusion at the end of the series, at most ``makeup_max_infusions`` (2) per series and never ending more than
  ``makeup_max_extension_days`` (14) after the series' planned last day (ORKA-1: real-world inductions span 7-28
  days; 21 planned + 14 stays within ~5 weeks). Both unverified placeholders the clinic must confirm; 0 turns
  make-ups off. Whatever was given, the response check runs when the series ends.
- Interacting drugs at order entry (CDS Hooks cards, ``interactions.py``): ``interacting_drug_terms`` and
  ``interacting_drug_codes`` default to ``shared/drug_classes.py``'s lists (CLINICAL.md; the intake's defaults, to
  review), ``blocking_interacting_drug_classes`` to none; set them as the intake's ``INTAKE_INTERACTING_DRUG_*``.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, fields
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.drug_classes import (
    DEFAULT_INTERACTING_DRUG_CODES, DEFAULT_INTERACTING_DRUG_TERMS, parse_class_codes, parse_class_terms,
)
from services.orders.domain.products import KetamineProduct, product_by_id


class WeightBasis(enum.Enum):
    """Which body weight the mg/kg dose is multiplied by."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


class BagVolumeRule(enum.Enum):
    """How the infusion bag's total volume (and so the pump rate) is worked out."""

    DILUENT_PLUS_DRUG = "diluent-plus-drug"  # the drug is added to a full diluent bag
    DILUENT_ONLY = "diluent-only"  # the drug volume is withdrawn from the bag first; total = diluent volume


DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class ProtocolSettings:
    default_dose_mg_per_kg: float = 0.5
    min_dose_mg_per_kg: float = 0.1
    max_dose_mg_per_kg: float = 1.0
    override_max_dose_mg_per_kg: float = 1.5
    default_duration_min: int = 40
    min_duration_min: int = 40
    max_duration_min: int = 60
    weight_basis: WeightBasis = WeightBasis.ACTUAL
    adjusted_weight_factor: float = 0.4
    dose_cap_mg: float | None = None
    stocked_products: tuple[str, ...] = ("ketamine-10",)  # catalogue ids (products.py) the clinic stocks
    dosing_product: str = "ketamine-10"  # the stocked product Ketalink's own orders are drawn from
    drug_concentration_mg_per_ml: float | None = None  # replaced by dosing_product; refused when set
    diluent_volume_ml: float = 100.0
    diluent_name: str = "0.9% sodium chloride"
    bag_volume_rule: BagVolumeRule = BagVolumeRule.DILUENT_PLUS_DRUG
    dose_rounding_mg: float = 1.0
    volume_rounding_ml: float | None = None  # None: the product's own increment (1 mg per step)
    drawn_dose_tolerance_percent: float = 5.0
    rate_rounding_ml_per_h: float = 0.1
    weight_max_age_days: int = 30
    weight_plausible_range_kg: tuple[float, ...] = (20.0, 400.0)  # as intake's; a data-entry bound, see docstring
    induction_infusion_count: int = 6
    induction_max_infusions: int = 8
    induction_infusions_per_week: int = 2
    induction_min_infusions_per_week: int = 2
    induction_max_infusions_per_week: int = 3
    induction_max_span_days: int = 21
    reevaluation_days_after_induction: int = 7
    maintenance_min_interval_days: int = 7
    maintenance_max_interval_days: int = 90
    # How far after the clinic's today a series may start: a start further ahead (a mistyped year, 9999) would be
    # planned on an eligibility decision, consent and weight that no longer hold when it begins. Not before today.
    series_start_max_days_ahead: int = 90
    # Spacing and make-ups (see the module docstring).
    min_days_between_infusions: int = 2
    makeup_max_infusions: int = 2
    makeup_max_extension_days: int = 14
    # Interacting drugs at order entry (the CDS Hooks cards): ``shared/drug_classes.py``'s rule and defaults, the same
    # as the intake's INTAKE_INTERACTING_DRUG_* (a clinic that changes one list changes both); a blocking class is
    # critical at both hooks, any other a review point.
    interacting_drug_terms: tuple[str, ...] = DEFAULT_INTERACTING_DRUG_TERMS
    interacting_drug_codes: tuple[str, ...] = DEFAULT_INTERACTING_DRUG_CODES
    blocking_interacting_drug_classes: tuple[str, ...] = ()
    clinic_timezone: str = "UTC"  # from KETALINK_CLINIC_TIMEZONE (bootstrap): what "today" and a window's day mean

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    def clinic_date(self, moment: datetime) -> date:
        """The calendar day ``moment`` falls on at the clinic (a UTC date is tomorrow in California's evening)."""
        return moment.astimezone(self.zone).date()

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent setting (checked once at start-up)."""
        for setting in fields(self):  # "inf" and "nan" parse as floats and pass every ">" and "<=" check below
            value = getattr(self, setting.name)
            _require(not isinstance(value, float) or math.isfinite(value), f"{setting.name} must be a finite number")
        _require(self.min_dose_mg_per_kg > 0, "min_dose_mg_per_kg must be above 0")
        _require(
            self.min_dose_mg_per_kg <= self.default_dose_mg_per_kg <= self.max_dose_mg_per_kg,
            "default_dose_mg_per_kg must lie between min_dose_mg_per_kg and max_dose_mg_per_kg",
        )
        _require(
            self.max_dose_mg_per_kg <= self.override_max_dose_mg_per_kg,
            "override_max_dose_mg_per_kg must not be below max_dose_mg_per_kg",
        )
        _require(self.min_duration_min > 0, "min_duration_min must be above 0")
        _require(
            self.min_duration_min <= self.default_duration_min <= self.max_duration_min,
            "default_duration_min must lie between min_duration_min and max_duration_min",
        )
        _require(0 < self.adjusted_weight_factor <= 1, "adjusted_weight_factor must be above 0 and at most 1")
        for name in ("diluent_volume_ml", "dose_rounding_mg", "rate_rounding_ml_per_h"):
            _require(getattr(self, name) > 0, f"{name} must be above 0")
        _require(self.volume_rounding_ml is None or self.volume_rounding_ml > 0,
                 "volume_rounding_ml must be empty (the product's increment) or above 0")
        _require(self.drug_concentration_mg_per_ml is None,
                 "drug_concentration_mg_per_ml is replaced by dosing_product and stocked_products "
                 "(e.g. ORDERS_DOSING_PRODUCT=ketamine-50); unset it")
        self._validate_products()
        _require(bool(self.diluent_name.strip()), "diluent_name must not be empty")
        _require(
            self.dose_cap_mg is None or self.dose_cap_mg >= self.dose_rounding_mg,
            "dose_cap_mg must be empty or at least dose_rounding_mg",
        )
        _require(self.weight_max_age_days >= 1, "weight_max_age_days must be at least 1")
        low_high = self.weight_plausible_range_kg
        _require(len(low_high) == 2 and all(math.isfinite(v) for v in low_high) and 0 < low_high[0] < low_high[1],
                 "weight_plausible_range_kg must be two finite numbers, low,high, with 0 < low < high")
        _require(
            1 <= self.induction_infusion_count <= self.induction_max_infusions,
            "induction_infusion_count must be between 1 and induction_max_infusions",
        )
        _require(
            1 <= self.induction_min_infusions_per_week <= self.induction_infusions_per_week
            <= self.induction_max_infusions_per_week <= DAYS_PER_WEEK,
            "induction infusions per week must satisfy 1 <= min <= default <= max <= 7",
        )
        _require(self.induction_max_span_days >= 1, "induction_max_span_days must be at least 1")
        _require(
            induction_span_days(self.induction_infusion_count, self.induction_infusions_per_week)
            <= self.induction_max_span_days,
            "the default induction (induction_infusion_count at induction_infusions_per_week) must fit in "
            "induction_max_span_days",
        )
        _require(self.reevaluation_days_after_induction >= 0, "reevaluation_days_after_induction must be >= 0")
        _require(self.maintenance_max_interval_days <= self.series_start_max_days_ahead <= 366,
                 "series_start_max_days_ahead must be at least maintenance_max_interval_days (a maintenance series "
                 "starts one interval after the last infusion) and at most 366")
        _require(
            1 <= self.min_days_between_infusions
            and self.min_days_between_infusions * self.induction_max_infusions_per_week <= DAYS_PER_WEEK,
            "min_days_between_infusions must be at least 1 and, times induction_max_infusions_per_week, fit in a "
            "week (else the clinic's fastest induction could not keep to it)",
        )
        _require(0 <= self.makeup_max_infusions <= 4, "makeup_max_infusions must be 0-4 (0: no make-ups)")
        _require(0 <= self.makeup_max_extension_days <= 28, "makeup_max_extension_days must be 0-28 days")
        _require(
            1 <= self.maintenance_min_interval_days <= self.maintenance_max_interval_days,
            "maintenance intervals must satisfy 1 <= maintenance_min_interval_days <= maintenance_max_interval_days",
        )
        classes = {t.drug_class for t in parse_class_terms(self.interacting_drug_terms)}
        classes |= {c.drug_class for c in parse_class_codes(self.interacting_drug_codes)}
        _require(set(self.blocking_interacting_drug_classes) <= classes,
                 "blocking_interacting_drug_classes names a class no interacting_drug_terms or _codes entry has")
        try:
            self.zone
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"clinic_timezone {self.clinic_timezone!r} is not an IANA time zone name") from None

    def _validate_products(self) -> None:
        _require(bool(self.stocked_products), "stocked_products must name at least one product")
        for product_id in self.stocked_products:
            try:
                product_by_id(product_id)
            except ValueError as error:
                raise ValueError(f"stocked_products: {error}") from None
        _require(len(set(self.stocked_products)) == len(self.stocked_products),
                 "stocked_products names a product twice")
        strengths = [product_by_id(p).strength_mg_per_ml for p in self.stocked_products]
        _require(len(set(strengths)) == len(strengths), "stocked_products names two products of the same strength")
        _require(self.dosing_product in self.stocked_products,
                 f"dosing_product {self.dosing_product!r} must be one of stocked_products")
        _require(0.5 <= self.drawn_dose_tolerance_percent <= 10,
                 "drawn_dose_tolerance_percent must be between 0.5 and 10")

    @property
    def dosing(self) -> KetamineProduct:
        """The product Ketalink's own orders are drawn from (validated: stocked and in the catalogue)."""
        return product_by_id(self.dosing_product)

    @property
    def stocked(self) -> tuple[KetamineProduct, ...]:
        return tuple(product_by_id(p) for p in self.stocked_products)

    def volume_increment_ml(self, product: KetamineProduct) -> float:
        """The increment a drug volume of ``product`` is rounded to: the clinic's, else the product's."""
        return self.volume_rounding_ml if self.volume_rounding_ml is not None else product.volume_increment_ml


def induction_span_days(infusion_count: int, infusions_per_week: int) -> int:
    """Days from the first window's start to the last window's end (inclusive) for an induction schedule:
    floor(7 × count / per-week), e.g. 6 at 2/week → 21 days, 6 at 3/week → 14 days."""
    return (DAYS_PER_WEEK * infusion_count) // infusions_per_week


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
