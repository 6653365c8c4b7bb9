"""The ketamine products a clinic may stock, and the one an order is drawn from.

One ``KetamineProduct`` is the single source of the strength (mg/mL) a dose's volume is calculated at, the
concentration the dosing text names and the product the MedicationRequest codes, so the three always agree: a
text for 10 mg/mL against a coded 100 mg/mL product is a 10-fold error for whoever draws from the coded product
(../shared/CLINICAL.md, "Products, safety and accountability").

Catalogue (the strengths marketed in the US as multidose vials: 10, 50 and 100 mg/mL; label):
- ``ketamine-100``: RxNorm 238083 "ketamine 100 MG/ML Injectable Solution" (verified against openFDA NDC records
  of 100 mg/mL-only products).
- ``ketamine-10`` and ``ketamine-50``: no RxNorm code. The candidates 238082 and 238084 could not be matched to a
  strength (openFDA lists every strength's RXCUI of a label on each product), so they are not used; these
  products are coded by their ingredient (``KETAMINE_INGREDIENT``) and the ``Medication.ingredient.strength``
  Ratio alone.

Each product carries the volume increment it is drawn in. The default increments make one increment carry 1 mg (the
dose rounding), so the volume drawn gives the rounded dose: 0.1 mL at 10 mg/mL, 0.02 mL at 50 mg/mL and 0.01 mL
(a 1 mL syringe's graduation) at 100 mg/mL. ``dose.calculate_dose`` still checks the dose a rounded volume delivers.
Which products the clinic stocks and which one it doses from are settings (``ProtocolSettings.stocked_products``,
``dosing_product``), checked at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.records import JsonRecord
from services.orders.domain.errors import OrdersInputError

RXNORM_KETAMINE_100_MG_PER_ML = "238083"


@dataclass(frozen=True)
class KetamineProduct(JsonRecord):
    """A ketamine injection product: strength, how it is coded and the volume increment it is drawn in.

    Stored with every dose calculation, so an order keeps the product it was calculated at even if the catalogue
    changes later."""

    product_id: str
    strength_mg_per_ml: float
    display: str
    rxnorm_code: str | None = None  # a verified RxNorm product code only; None → coded by ingredient + strength
    volume_increment_ml: float = 0.1

    def __post_init__(self) -> None:
        if not self.product_id.strip():
            raise OrdersInputError("product.product_id", "a product needs an id")
        if not self.strength_mg_per_ml > 0:
            raise OrdersInputError("product.strength_mg_per_ml", "a product's strength must be above 0 mg/mL")
        if not self.volume_increment_ml > 0:
            raise OrdersInputError("product.volume_increment_ml", "a product's volume increment must be above 0 mL")

    @property
    def strength_text(self) -> str:
        return f"{self.strength_mg_per_ml:g} mg/mL"


KETAMINE_10_MG_PER_ML = KetamineProduct("ketamine-10", 10.0, "ketamine 10 mg/mL injection", None, 0.1)
KETAMINE_50_MG_PER_ML = KetamineProduct("ketamine-50", 50.0, "ketamine 50 mg/mL injection", None, 0.02)
KETAMINE_100_MG_PER_ML = KetamineProduct("ketamine-100", 100.0, "ketamine 100 mg/mL injection",
                                         RXNORM_KETAMINE_100_MG_PER_ML, 0.01)

PRODUCT_CATALOGUE: dict[str, KetamineProduct] = {
    product.product_id: product for product in (KETAMINE_10_MG_PER_ML, KETAMINE_50_MG_PER_ML, KETAMINE_100_MG_PER_ML)
}


def product_by_id(product_id: str) -> KetamineProduct:
    """The catalogue's product; ValueError naming the known ids for any other."""
    try:
        return PRODUCT_CATALOGUE[product_id]
    except KeyError:
        known = ", ".join(PRODUCT_CATALOGUE)
        raise ValueError(f"{product_id!r} is not a ketamine product in the catalogue ({known})") from None


def legacy_product(concentration_mg_per_ml: float) -> KetamineProduct:
    """The product of a calculation stored before products existed: the catalogue's product of that strength, or
    an uncoded one of it (never the RxNorm 100 mg/mL code for another strength)."""
    for product in PRODUCT_CATALOGUE.values():
        if product.strength_mg_per_ml == concentration_mg_per_ml:
            return product
    return KetamineProduct(f"ketamine-{concentration_mg_per_ml:g}", concentration_mg_per_ml,
                           f"ketamine {concentration_mg_per_ml:g} mg/mL injection")


def stocked_product_for(stocked: tuple[KetamineProduct, ...], rxnorm_code: str | None,
                        strength_mg_per_ml: float | None) -> KetamineProduct | None:
    """The stocked product an order names, by its RxNorm product code or by its stated strength (both must agree
    when both are given); None when no stocked product matches."""
    for product in stocked:
        code_matches = rxnorm_code is None or product.rxnorm_code == rxnorm_code
        strength_matches = strength_mg_per_ml is None or product.strength_mg_per_ml == strength_mg_per_ml
        if (rxnorm_code is not None or strength_mg_per_ml is not None) and code_matches and strength_matches:
            return product
    return None
