"""A ketamine product as FHIR: one contained ``Medication`` shape that orders (MedicationRequest) and documentation
(MedicationAdministration) both write and read, so the product a nurse draws from is coded the same everywhere.

The Medication always states its strength as ``ingredient[0].strength`` (X mg / 1 mL), and its ``code`` is the
verified RxNorm product code where there is one (only 238083, 100 mg/mL: see codes.py) or else the ingredient.
A reader takes the strength from ``ingredient.strength``; from a bare RxNorm product code (an EHR's
``medicationCodeableConcept``) only for the verified one. Sources: ../shared/CLINICAL.md "Codes".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.fhir.codes import KETAMINE_100MG_PER_ML_INJECTION, KETAMINE_INGREDIENT, RXNORM, Code
from shared.fhir.datatypes import codeable_concept, coding, quantity

PRODUCT_MEDICATION_ID = "ketamine-product"
# RxNorm product codes whose strength is verified; any other RxNorm code names no strength Ketalink can trust.
VERIFIED_RXNORM_STRENGTHS_MG_PER_ML = {KETAMINE_100MG_PER_ML_INJECTION.code: 100.0}
_INGREDIENT_TEXTS = ("ketamine", "ketamine hydrochloride", "ketamine hcl")


class MedicationShapeError(ValueError):
    """The medication cannot be read as a ketamine product; ``path`` names the element."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class CodedProduct:
    """What a resource says about its ketamine product: the RxNorm product code (if any) and the strength (if
    stated or known from a verified code). ``is_ketamine`` is False when the resource names another drug."""

    is_ketamine: bool
    rxnorm_code: str | None
    strength_mg_per_ml: float | None
    display: str | None


_STRENGTH_IN_TEXT = re.compile(r"ketamine\s+(\d+(?:\.\d+)?)\s*mg\s*/\s*ml", re.IGNORECASE)


def strengths_in_text(text: str | None) -> set[float]:
    """Every ketamine strength a dosing text names ("… of ketamine 10 mg/mL …"), so a reader can refuse a text that
    names another strength than the coded product (an order written before products were coded, or by hand)."""
    return {float(value) for value in _STRENGTH_IN_TEXT.findall(text or "")}


def product_medication(strength_mg_per_ml: float, display: str, rxnorm_code: str | None,
                       medication_id: str = PRODUCT_MEDICATION_ID) -> dict[str, Any]:
    """The contained Medication for a product (add ``batch`` etc. to the returned dict as needed)."""
    if rxnorm_code == KETAMINE_100MG_PER_ML_INJECTION.code:
        product_coding = coding(KETAMINE_100MG_PER_ML_INJECTION)
    elif rxnorm_code:
        product_coding = coding(Code(RXNORM, rxnorm_code, display))
    else:
        product_coding = coding(KETAMINE_INGREDIENT)
    return {
        "resourceType": "Medication",
        "id": medication_id,
        "code": {"coding": [product_coding], "text": display},
        "ingredient": [{
            "itemCodeableConcept": codeable_concept(KETAMINE_INGREDIENT),
            "isActive": True,
            "strength": {"numerator": quantity(strength_mg_per_ml, "mg"), "denominator": quantity(1, "mL")},
        }],
    }


def product_reference(display: str, medication_id: str = PRODUCT_MEDICATION_ID) -> dict[str, Any]:
    return {"reference": f"#{medication_id}", "display": display}


def coded_product(resource: dict[str, Any], resource_type: str) -> CodedProduct:
    """The product of a MedicationRequest or MedicationAdministration: ``medicationCodeableConcept`` or a contained
    Medication named by ``medicationReference``. MedicationShapeError when neither can be read."""
    if "medicationCodeableConcept" in resource:
        return _from_concept(resource["medicationCodeableConcept"], None)
    ref = (resource.get("medicationReference") or {}).get("reference", "")
    if isinstance(ref, str) and ref.startswith("#"):
        for contained in resource.get("contained") or []:
            if contained.get("resourceType") == "Medication" and contained.get("id") == ref[1:]:
                return _from_medication(contained, f"{resource_type}.contained.where(id='{ref[1:]}')")
    raise MedicationShapeError(f"{resource_type}.medicationReference",
                               "only a medicationCodeableConcept or a contained Medication can be read")


def _from_medication(medication: dict[str, Any], path: str) -> CodedProduct:
    concept = medication.get("code") or {}
    ingredients = medication.get("ingredient") or []
    if len(ingredients) > 1:
        raise MedicationShapeError(f"{path}.ingredient", "a ketamine product has one ingredient")
    strength = None
    if ingredients:
        ingredient = ingredients[0]
        if not _names_ketamine(ingredient.get("itemCodeableConcept")):
            return CodedProduct(False, None, None, concept.get("text"))
        if ingredient.get("strength") is not None:
            strength = _strength(ingredient["strength"], f"{path}.ingredient[0].strength")
    return _from_concept(concept, strength, ingredient_named=bool(ingredients))


def _from_concept(concept: dict[str, Any], strength: float | None, ingredient_named: bool = False) -> CodedProduct:
    codings = concept.get("coding") or []
    rxnorm = next((c.get("code") for c in codings if c.get("system") == RXNORM and c.get("code")), None)
    text = concept.get("text") or next((c.get("display") for c in codings if c.get("display")), None)
    if rxnorm is not None:
        known = VERIFIED_RXNORM_STRENGTHS_MG_PER_ML.get(rxnorm)
        if strength is None:
            strength = known
        elif known is not None and known != strength:
            raise MedicationShapeError("Medication.ingredient.strength",
                                       f"{strength:g} mg/mL disagrees with RxNorm {rxnorm} ({known:g} mg/mL)")
        # An RxNorm code is a ketamine product only when known; an unknown one is left for the caller to refuse.
        return CodedProduct(known is not None or ingredient_named, rxnorm, strength, text)
    return CodedProduct(ingredient_named or _names_ketamine(concept), None, strength, text)


def _names_ketamine(concept: dict[str, Any] | None) -> bool:
    if not concept:
        return False
    if any(c.get("system") == KETAMINE_INGREDIENT.system and c.get("code") == KETAMINE_INGREDIENT.code
           for c in concept.get("coding") or []):
        return True
    return (concept.get("text") or "").strip().lower() in _INGREDIENT_TEXTS


def _strength(ratio: dict[str, Any], path: str) -> float:
    numerator, denominator = ratio.get("numerator") or {}, ratio.get("denominator") or {}
    num_unit = numerator.get("code") or numerator.get("unit")
    den_unit = denominator.get("code") or denominator.get("unit")
    if num_unit != "mg" or numerator.get("value") is None:
        raise MedicationShapeError(f"{path}.numerator", "expected a value in mg")
    if den_unit != "mL" or not denominator.get("value"):
        raise MedicationShapeError(f"{path}.denominator", "expected a value in mL above 0")
    strength = float(numerator["value"]) / float(denominator["value"])
    if not strength > 0:
        raise MedicationShapeError(f"{path}.numerator", "the strength must be above 0 mg/mL")
    return round(strength, 6)
