"""The human-readable dose calculation shown to the prescriber and sent as ``dosageInstruction.text``: every number
the pump is set from, and where it came from, in one paragraph that can be checked by hand."""
from __future__ import annotations

from typing import TYPE_CHECKING

from services.orders.domain.rounding import format_amount
from services.orders.domain.settings import BagVolumeRule, WeightBasis

if TYPE_CHECKING:
    from services.orders.domain.dose import DoseCalculation

_BASIS_NAMES = {
    WeightBasis.ACTUAL: "actual body weight",
    WeightBasis.IDEAL: "ideal body weight (Devine)",
    WeightBasis.ADJUSTED: "adjusted body weight",
}


def describe(calc: DoseCalculation) -> str:
    dose = format_amount(calc.dose_mg, calc.dose_rounding_mg)
    drug_ml = format_amount(calc.drug_volume_ml, calc.volume_rounding_ml)
    bag_ml = format_amount(calc.bag_volume_ml, calc.volume_rounding_ml)
    rate = format_amount(calc.rate_ml_per_h, calc.rate_rounding_ml_per_h)
    diluent_ml = format_amount(calc.diluent_volume_ml, calc.volume_rounding_ml)
    product = calc.drug_product  # the one product the volume and the coded MedicationRequest also come from
    concentration = f"{product.strength_text}"
    parts = [
        f"Ketamine {dose} mg IV over {calc.duration_min} min: {calc.mg_per_kg:g} mg/kg × "
        f"{calc.dosing_weight_kg:.1f} kg {_BASIS_NAMES[calc.weight_basis_used]}{_weight_origin(calc)}"
        f" = {calc.unrounded_dose_mg:.1f} mg."
    ]
    if calc.cap_applied:
        parts.append(f"Capped at the clinic's dose cap: {format_amount(calc.dose_mg, calc.dose_rounding_mg)} mg.")
    parts.extend(f"{note[0].upper()}{note[1:]}." for note in calc.notes)
    if calc.override is not None:
        parts.append(
            f"Above the clinic maximum of {calc.clinic_max_mg_per_kg:g} mg/kg by override of "
            f"{calc.override.authorised_by} ({calc.override.authorised_at.date().isoformat()}): "
            f"{calc.override.reason}."
        )
    if calc.bag_volume_rule is BagVolumeRule.DILUENT_PLUS_DRUG:
        parts.append(f"Add {drug_ml} mL of ketamine {concentration} to {diluent_ml} mL {calc.diluent_name}: "
                     f"{bag_ml} mL at {rate} mL/h.")
    else:
        parts.append(f"Withdraw {drug_ml} mL from a {diluent_ml} mL bag of {calc.diluent_name}, then add {drug_ml} mL "
                     f"of ketamine {concentration}: {bag_ml} mL at {rate} mL/h.")
    drawn_mg = calc.drawn_mg
    if drawn_mg != calc.dose_mg:
        parts.append(f"{drug_ml} mL of {concentration} holds {drawn_mg:g} mg.")
    parts.append(f"Rounded half-up: dose to {calc.dose_rounding_mg:g} mg, volume to {calc.volume_rounding_ml:g} mL, "
                 f"rate to {calc.rate_rounding_ml_per_h:g} mL/h.")
    return " ".join(parts)


def _weight_origin(calc: DoseCalculation) -> str:
    weighed = f"weighed {calc.weight.measured_at.date().isoformat()}"
    if calc.ideal_weight_kg is None:
        return f" ({weighed})"
    height_cm = calc.height.value_cm if calc.height else 0.0
    sex = calc.sex.value if calc.sex else "unknown"
    return (f" (actual {calc.weight.value_kg:.1f} kg {weighed}; height {height_cm:.1f} cm, {sex}; "
            f"IBW {calc.ideal_weight_kg:.1f} kg, ABW {calc.adjusted_weight_kg:.1f} kg)")
