"""Ideal and adjusted body weight, and which weight a dose is multiplied by.

Devine (1974) ideal body weight: male 50 kg + 2.3 kg per inch of height over 5 ft; female 45.5 kg + 2.3 kg per
inch over 5 ft. Patients shorter than 5 ft: the same 2.3 kg per inch is subtracted below 5 ft (the formula is
extended linearly) rather than stopping at 50/45.5 kg, so a short patient's IBW is never overstated (which would
raise the dose). A height so short that the IBW is 0 kg or less is refused.

Adjusted body weight: ABW = IBW + factor × (actual − IBW), factor 0.4 by default (a setting).

When the actual weight is below the IBW, the ideal and the adjusted basis both fall back to the actual weight:
dosing on a weight the patient does not have would over-dose a light patient. The calculation records the basis
requested, the basis used and why.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.units import INCHES_PER_FOOT, cm_to_inches
from services.orders.domain.errors import Violation
from services.orders.domain.measurements import BodyHeight, Sex
from services.orders.domain.settings import WeightBasis

DEVINE_BASE_KG = {Sex.MALE: 50.0, Sex.FEMALE: 45.5}
DEVINE_KG_PER_INCH = 2.3
DEVINE_REFERENCE_HEIGHT_IN = 5 * INCHES_PER_FOOT


def ideal_body_weight_kg(height_cm: float, sex: Sex) -> float:
    """Devine IBW in kg (see the module docstring); ValueError for a sex the formula does not define."""
    if sex not in DEVINE_BASE_KG:
        raise ValueError(f"the Devine formula needs sex male or female, not {sex.value!r}")
    inches_over_five_feet = cm_to_inches(height_cm) - DEVINE_REFERENCE_HEIGHT_IN
    return DEVINE_BASE_KG[sex] + DEVINE_KG_PER_INCH * inches_over_five_feet


def adjusted_body_weight_kg(actual_kg: float, ideal_kg: float, factor: float) -> float:
    """ABW = IBW + factor × (actual − IBW)."""
    return ideal_kg + factor * (actual_kg - ideal_kg)


@dataclass(frozen=True)
class DosingWeight:
    """The weight a dose is multiplied by, with what it was derived from."""

    weight_kg: float
    basis_requested: WeightBasis
    basis_used: WeightBasis
    ideal_kg: float | None
    adjusted_kg: float | None
    note: str | None  # why the basis used differs from the one requested


def body_size_violations(basis: WeightBasis, height: BodyHeight | None, sex: Sex | None) -> list[Violation]:
    """What is missing to compute ``basis``: ideal and adjusted weight need a height and sex male or female."""
    if basis is WeightBasis.ACTUAL:
        return []
    violations = []
    if height is None:
        violations.append(Violation("height", f"{basis.value} body weight needs a recorded height"))
    if sex not in DEVINE_BASE_KG:
        shown = "none" if sex is None else sex.value
        violations.append(
            Violation("sex", f"{basis.value} body weight (Devine) needs sex male or female, the record has {shown}")
        )
    if height is not None and sex in DEVINE_BASE_KG and ideal_body_weight_kg(height.value_cm, sex) <= 0:
        violations.append(Violation("height.value_cm", "height too short for the Devine formula (IBW <= 0 kg)"))
    return violations


def dosing_weight(actual_kg: float, basis: WeightBasis, height: BodyHeight | None, sex: Sex | None,
                  adjusted_factor: float) -> DosingWeight:
    """Choose the dosing weight; call ``body_size_violations`` first (this assumes height and sex are usable)."""
    if basis is WeightBasis.ACTUAL:
        return DosingWeight(actual_kg, basis, basis, None, None, None)
    if height is None or sex is None:
        raise ValueError(f"{basis.value} body weight needs height and sex; check body_size_violations first")
    ideal_kg = ideal_body_weight_kg(height.value_cm, sex)
    adjusted_kg = adjusted_body_weight_kg(actual_kg, ideal_kg, adjusted_factor)
    if actual_kg < ideal_kg:
        note = (f"actual weight {actual_kg:.1f} kg is below ideal body weight {ideal_kg:.1f} kg, "
                "so the actual weight is used")
        return DosingWeight(actual_kg, basis, WeightBasis.ACTUAL, ideal_kg, adjusted_kg, note)
    chosen_kg = ideal_kg if basis is WeightBasis.IDEAL else adjusted_kg
    return DosingWeight(chosen_kg, basis, basis, ideal_kg, adjusted_kg, None)
