"""Weight-based ketamine dose: mg/kg × dosing weight → mg, mL of drug, bag volume and pump rate in mL/h.

The result is a ``DoseCalculation`` record holding every input (weight and when it was measured, basis, height and
sex when used, mg/kg, cap, concentration, rounding) so the order shows the prescriber, and later an auditor, how
each number was reached. Rules (clinic settings in ``ProtocolSettings``):
- the latest weight must be within ``weight_max_age_days`` of now and not in the future;
- mg/kg at least the clinic minimum; above the clinic maximum only with a documented ``DoseOverride`` and never
  above ``override_max_dose_mg_per_kg``; duration within the clinic's range, in whole minutes;
- dose rounded half-up to ``dose_rounding_mg``; when a cap is set and the rounded dose exceeds it, the cap
  (rounded down to the increment) is given and ``cap_applied`` is recorded;
- the product (``products.py``) is the clinic's dosing product unless the order names another stocked one; its
  strength is the concentration everywhere (volume, text, coded product);
- drug volume = dose / strength, rounded to the product's increment (or ``volume_rounding_ml``); the dose that
  volume delivers (volume × strength) is recorded as ``drawn_dose_mg`` and must lie within
  ``drawn_dose_tolerance_percent`` of the rounded dose, else the order is refused (never restated: the
  prescriber decides whether to change the dose, the product or the clinic's increment);
- bag volume per ``bag_volume_rule``; rate = bag volume / duration in hours, rounded to
  ``rate_rounding_ml_per_h``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.people import Person
from shared.records import JsonRecord
from services.orders.domain.body_weight import body_size_violations, dosing_weight
from services.orders.domain.dose_text import describe
from services.orders.domain.errors import OrdersInputError, StaleWeightError, Violation
from services.orders.domain.measurements import BodyHeight, BodyWeight, Sex
from services.orders.domain.products import KetamineProduct, legacy_product
from services.orders.domain.rounding import exact, floor_to_increment, round_to_increment
from services.orders.domain.settings import BagVolumeRule, ProtocolSettings, WeightBasis
from services.orders.domain.timestamps import current_moment, require_aware

MINUTES_PER_HOUR = 60


@dataclass(frozen=True)
class DoseOverride(JsonRecord):
    """A prescriber's documented decision to exceed the clinic's maximum mg/kg."""

    reason: str
    authorised_by: Person
    authorised_at: datetime

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise OrdersInputError("override.reason", "an override needs a documented reason")
        if not isinstance(self.authorised_by, Person):
            raise OrdersInputError("override.authorised_by", "an override needs the name of who authorised it")
        require_aware(self.authorised_at, "override.authorised_at")


@dataclass(frozen=True)
class DoseCalculation(JsonRecord):
    """One dose calculation, stored with the order; ``text`` is what the prescriber reads before signing (in the
    stored document for display, recomputed rather than read back)."""

    derived_fields = ("text",)

    mg_per_kg: float
    duration_min: int
    weight: BodyWeight
    height: BodyHeight | None
    sex: Sex | None
    weight_basis_requested: WeightBasis
    weight_basis_used: WeightBasis
    ideal_weight_kg: float | None
    adjusted_weight_kg: float | None
    dosing_weight_kg: float
    unrounded_dose_mg: float
    dose_cap_mg: float | None
    cap_applied: bool
    dose_mg: float
    concentration_mg_per_ml: float
    drug_volume_ml: float
    diluent_volume_ml: float
    diluent_name: str
    bag_volume_rule: BagVolumeRule
    bag_volume_ml: float
    rate_ml_per_h: float
    dose_rounding_mg: float
    volume_rounding_ml: float
    rate_rounding_ml_per_h: float
    clinic_max_mg_per_kg: float
    override: DoseOverride | None
    notes: tuple[str, ...]
    calculated_at: datetime
    # None in calculations stored before products were, see ``drug_product``.
    product: KetamineProduct | None = None
    drawn_dose_mg: float | None = None  # drug_volume_ml × strength: what the drawn volume holds

    @property
    def text(self) -> str:
        return describe(self)

    @property
    def drug_product(self) -> KetamineProduct:
        """The product the volume was calculated at; for a calculation stored before products, the product of its
        concentration (coded only when the catalogue's product of that strength has a verified code)."""
        return self.product if self.product is not None else legacy_product(self.concentration_mg_per_ml)

    @property
    def drawn_mg(self) -> float:
        """The mg the drawn volume holds (computed for calculations stored before it was recorded)."""
        if self.drawn_dose_mg is not None:
            return self.drawn_dose_mg
        return float(exact(self.drug_volume_ml) * exact(self.concentration_mg_per_ml))


def weight_violations(weight: BodyWeight | None, now: datetime, settings: ProtocolSettings) -> list[Violation]:
    """The weight must exist, be plausible (``weight_plausible_range_kg``), not lie in the future and be at most
    ``weight_max_age_days`` old."""
    if weight is None:
        return [Violation("weight", "no body weight is recorded for the patient")]
    low_kg, high_kg = settings.weight_plausible_range_kg
    if not low_kg <= weight.value_kg <= high_kg:  # mg/kg × an implausible weight: 800 kg typed for 80 → 400 mg
        return [Violation("weight.value_kg", f"the latest body weight ({weight.value_kg:g} kg) is outside the "
                                             f"plausible {low_kg:g}-{high_kg:g} kg; check and re-record it")]
    if weight.measured_at > now:
        return [Violation("weight.measured_at", "the body weight is dated in the future")]
    if now - weight.measured_at > timedelta(days=settings.weight_max_age_days):
        return [Violation(
            "weight.measured_at",
            f"the latest body weight ({weight.measured_at.date().isoformat()}) is older than "
            f"{settings.weight_max_age_days} days; weigh the patient again",
        )]
    return []


def dose_rule_violations(mg_per_kg: float, duration_min: float, override: DoseOverride | None,
                         settings: ProtocolSettings) -> list[Violation]:
    """Protocol limits on mg/kg (with the override rule) and on the infusion duration."""
    violations = []
    if mg_per_kg < settings.min_dose_mg_per_kg:
        violations.append(Violation(
            "mg_per_kg", f"{mg_per_kg} mg/kg is below the clinic minimum of {settings.min_dose_mg_per_kg} mg/kg"))
    elif mg_per_kg > settings.override_max_dose_mg_per_kg:
        violations.append(Violation(
            "mg_per_kg", f"{mg_per_kg} mg/kg is above {settings.override_max_dose_mg_per_kg} mg/kg, "
                         "the most the clinic allows even with an override"))
    elif mg_per_kg > settings.max_dose_mg_per_kg and override is None:
        violations.append(Violation(
            "mg_per_kg", f"{mg_per_kg} mg/kg is above the clinic maximum of {settings.max_dose_mg_per_kg} mg/kg; "
                         "a documented override is needed"))
    if not math.isfinite(duration_min) or duration_min != int(duration_min):  # 1e308 h is inf min: int() overflows
        violations.append(Violation("duration_min", "the infusion duration must be in whole minutes"))
    elif not settings.min_duration_min <= duration_min <= settings.max_duration_min:
        violations.append(Violation(
            "duration_min", f"{int(duration_min)} min is outside the clinic's "
                            f"{settings.min_duration_min}-{settings.max_duration_min} min"))
    return violations


def calculate_dose(
    weight: BodyWeight | None,
    height: BodyHeight | None,
    sex: Sex | None,
    settings: ProtocolSettings,
    override: DoseOverride | None = None,
    mg_per_kg: float | None = None,
    duration_min: int | None = None,
    now: datetime | None = None,
    product: KetamineProduct | None = None,
) -> DoseCalculation:
    """Calculate the dose from the patient's latest weight (``most_recent`` of the EHR's weights).

    mg/kg and duration default to the clinic's, the product to the clinic's dosing product (a CPOE order passes
    the stocked product it names). Raises StaleWeightError when the weight is missing, too old or in
    the future; OrdersInputError (with every violation) for any other broken rule. An override given for a dose
    within the clinic's maximum authorises nothing and is not recorded."""
    now = current_moment(now)
    mg_per_kg = settings.default_dose_mg_per_kg if mg_per_kg is None else float(mg_per_kg)
    duration = settings.default_duration_min if duration_min is None else duration_min
    stale = weight_violations(weight, now, settings)
    violations = stale + dose_rule_violations(mg_per_kg, duration, override, settings)
    violations += body_size_violations(settings.weight_basis, height, sex)
    if violations or weight is None:  # a missing weight is always among the violations
        raise (StaleWeightError if stale else OrdersInputError).from_violations(violations)
    duration = int(duration)  # whole minutes, checked above

    chosen = dosing_weight(weight.value_kg, settings.weight_basis, height, sex, settings.adjusted_weight_factor)
    unrounded_dose_mg = exact(mg_per_kg) * exact(chosen.weight_kg)
    dose_mg = round_to_increment(unrounded_dose_mg, settings.dose_rounding_mg)
    cap_applied = settings.dose_cap_mg is not None and dose_mg > settings.dose_cap_mg
    if cap_applied:
        dose_mg = floor_to_increment(settings.dose_cap_mg, settings.dose_rounding_mg)
    product = settings.dosing if product is None else product
    volume_increment_ml = settings.volume_increment_ml(product)
    drug_volume_ml = round_to_increment(exact(dose_mg) / exact(product.strength_mg_per_ml), volume_increment_ml)
    drawn_dose_mg = float(exact(drug_volume_ml) * exact(product.strength_mg_per_ml))
    _check_volumes(dose_mg, drug_volume_ml, drawn_dose_mg, product, settings)
    if settings.bag_volume_rule is BagVolumeRule.DILUENT_PLUS_DRUG:
        bag_volume_ml = float(exact(settings.diluent_volume_ml) + exact(drug_volume_ml))
    else:
        bag_volume_ml = settings.diluent_volume_ml
    rate_ml_per_h = round_to_increment(exact(bag_volume_ml) * MINUTES_PER_HOUR / duration,
                                       settings.rate_rounding_ml_per_h)
    if rate_ml_per_h <= 0:  # a pump set to 0 mL/h never gives the dose (a rate increment coarser than the rate)
        raise OrdersInputError("rate_ml_per_h", f"the pump rate rounds to 0 mL/h at the clinic's "
                                                f"{settings.rate_rounding_ml_per_h:g} mL/h increment")
    uses_body_size = chosen.ideal_kg is not None
    return DoseCalculation(
        mg_per_kg=mg_per_kg,
        duration_min=duration,
        weight=weight,
        height=height if uses_body_size else None,
        sex=sex if uses_body_size else None,
        weight_basis_requested=chosen.basis_requested,
        weight_basis_used=chosen.basis_used,
        ideal_weight_kg=chosen.ideal_kg,
        adjusted_weight_kg=chosen.adjusted_kg,
        dosing_weight_kg=chosen.weight_kg,
        unrounded_dose_mg=float(unrounded_dose_mg),
        dose_cap_mg=settings.dose_cap_mg,
        cap_applied=cap_applied,
        dose_mg=dose_mg,
        concentration_mg_per_ml=product.strength_mg_per_ml,
        drug_volume_ml=drug_volume_ml,
        diluent_volume_ml=settings.diluent_volume_ml,
        diluent_name=settings.diluent_name,
        bag_volume_rule=settings.bag_volume_rule,
        bag_volume_ml=bag_volume_ml,
        rate_ml_per_h=rate_ml_per_h,
        dose_rounding_mg=settings.dose_rounding_mg,
        volume_rounding_ml=volume_increment_ml,
        rate_rounding_ml_per_h=settings.rate_rounding_ml_per_h,
        clinic_max_mg_per_kg=settings.max_dose_mg_per_kg,
        override=override if mg_per_kg > settings.max_dose_mg_per_kg else None,
        notes=(chosen.note,) if chosen.note else (),
        calculated_at=now,
        product=product,
        drawn_dose_mg=drawn_dose_mg,
    )


def drawn_dose_violation(dose_mg: float, drug_volume_ml: float, drawn_dose_mg: float, product: KetamineProduct,
                         tolerance_percent: float) -> Violation | None:
    """The rounded volume must hold the rounded dose to within the clinic's tolerance, on either side (a volume
    rounded up over-doses, one rounded down under-doses)."""
    deviation_percent = (drawn_dose_mg - dose_mg) / dose_mg * 100
    if abs(deviation_percent) <= tolerance_percent:
        return None
    return Violation("drug_volume_ml", (
        f"{drug_volume_ml:g} mL of {product.display} holds {drawn_dose_mg:g} mg, not the {dose_mg:g} mg ordered "
        f"({deviation_percent:+.1f}%, beyond the clinic's {tolerance_percent:g}%); order a dose the volume "
        "increment can measure or draw from a lower-strength product"))


def _check_volumes(dose_mg: float, drug_volume_ml: float, drawn_dose_mg: float, product: KetamineProduct,
                   settings: ProtocolSettings) -> None:
    violations = []
    drawn = None if dose_mg <= 0 or drug_volume_ml <= 0 else drawn_dose_violation(
        dose_mg, drug_volume_ml, drawn_dose_mg, product, settings.drawn_dose_tolerance_percent)
    if dose_mg <= 0:
        violations.append(Violation("mg_per_kg", "the dose rounds to 0 mg"))
    elif drug_volume_ml <= 0:
        violations.append(Violation("drug_volume_ml", "the drug volume rounds to 0 mL at this concentration"))
    elif drawn is not None:
        violations.append(drawn)
    elif settings.bag_volume_rule is BagVolumeRule.DILUENT_ONLY and drug_volume_ml >= settings.diluent_volume_ml:
        violations.append(Violation("drug_volume_ml", "the drug volume does not fit in the diluent bag"))
    if violations:
        raise OrdersInputError.from_violations(violations)
