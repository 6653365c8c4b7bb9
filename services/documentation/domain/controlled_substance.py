"""The controlled-substance record of one infusion (issue 13; CLINICAL.md: ketamine is Schedule III): product,
lot and expiry, amount drawn, given and wasted (drawn = given + wasted, checked), and the waste witnessed by a
second licensed person. Both identities are kept: the nurse is the signed-in clinician (name and, from the pages,
the fhirUser reference), the witness a reference chosen from the EHR (``Practitioner/…``) or an identifier
(``system|value``, e.g. an NPI) typed in; they must differ. The procedure note cannot be signed without it
(``note.sign_note``) and ``reconciliation.py`` totals a clinic day's records per product and lot.

The witness rule is common institutional practice, unverified for every state (CLINICAL.md): a clinic that needs
more (a second witness, a DEA 41 form for destruction) keeps that outside Ketalink.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime

from services.documentation.domain.checks import require_aware, require_person, require_text
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.records import DocumentationRecord
from shared.people import Person

MAX_AMOUNT_MG = 10_000  # an outer bound against typing errors (a whole 20 mL vial at 100 mg/mL is 2000 mg)
PERSON_REFERENCE = re.compile(r"^(Practitioner|PractitionerRole)/[A-Za-z0-9\-.]{1,64}$")


@dataclass(frozen=True)
class PersonIdentity(DocumentationRecord):
    """A clinician as the EHR knows them: a ``Practitioner/{id}`` reference, or an identifier system and value.
    ``display`` is the name shown beside it (read from the EHR or typed)."""

    reference: str = ""
    identifier_system: str = ""
    identifier_value: str = ""
    display: str = ""

    def __post_init__(self) -> None:
        if self.reference and not PERSON_REFERENCE.match(self.reference):
            raise DocumentationInputError("reference", "expected Practitioner/{id} or PractitionerRole/{id}")
        if bool(self.identifier_system.strip()) != bool(self.identifier_value.strip()):
            raise DocumentationInputError("identifier_value" if self.identifier_system else "identifier_system",
                                          "an identifier has a system and a value")
        if not self.reference and not self.identifier_value.strip():
            raise DocumentationInputError("reference", "a Practitioner reference or an identifier is required")

    def keys(self) -> set[str]:
        """What identifies this person, to tell two people apart."""
        found = set()
        if self.reference:
            found.add(self.reference)
        if self.identifier_value.strip():
            found.add(f"{self.identifier_system.strip()}|{self.identifier_value.strip()}")
        return found

    def describe(self) -> str:
        ident = self.reference or f"{self.identifier_system}|{self.identifier_value}"
        return f"{self.display} ({ident})" if self.display else ident


@dataclass(frozen=True)
class ControlledSubstanceRecord(DocumentationRecord):
    product: str
    lot_number: str
    lot_expiry: date
    drawn_mg: float
    given_mg: float
    wasted_mg: float
    recorded_by: Person
    recorded_at: datetime
    witness: PersonIdentity
    witnessed_at: datetime
    product_code: str = ""  # e.g. the RxNorm code of the stocked product
    recorded_by_reference: str = ""  # records stored before recorded_by was a Person: the nurse's reference
    waste_method: str = ""

    def __post_init__(self) -> None:
        for name in ("product", "lot_number"):
            require_text(getattr(self, name), name)
        require_person(self.recorded_by, "recorded_by")
        if self.recorded_by_reference and not PERSON_REFERENCE.match(self.recorded_by_reference):
            raise DocumentationInputError("recorded_by_reference", "expected Practitioner/{id}")
        if self.recorded_by_reference and self.recorded_by.reference is None:  # an old row: one Person again
            object.__setattr__(self, "recorded_by", Person(self.recorded_by_reference, self.recorded_by.display))
        object.__setattr__(self, "recorded_by_reference", "")
        require_aware(self.recorded_at, "recorded_at")
        require_aware(self.witnessed_at, "witnessed_at")
        if not isinstance(self.lot_expiry, date) or isinstance(self.lot_expiry, datetime):
            raise DocumentationInputError("lot_expiry", "expected a date")
        for name in ("drawn_mg", "given_mg", "wasted_mg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DocumentationInputError(name, f"expected a number, got {value!r}")
            if not 0 <= value <= MAX_AMOUNT_MG:
                raise DocumentationInputError(name, f"must be 0-{MAX_AMOUNT_MG} mg, got {value:g}")
        if self.drawn_mg <= 0:
            raise DocumentationInputError("drawn_mg", "the amount drawn is above 0")
        if self.witness.reference and self.witness.reference == self.recorded_by.reference:
            raise DocumentationInputError("witness.reference", "the witness must be a second person, not the nurse")
        if self.witness.display.strip() and self.witness.display.strip().casefold() == \
                self.recorded_by.display.casefold():
            raise DocumentationInputError("witness.display", "the witness must be a second person, not the nurse")

    @property
    def unaccounted_mg(self) -> float:
        """drawn − (given + wasted): zero when the record adds up."""
        return self.drawn_mg - self.given_mg - self.wasted_mg

    def describe(self) -> str:
        return (f"{self.product}{f' [{self.product_code}]' if self.product_code else ''} lot {self.lot_number} "
                f"(expiry {self.lot_expiry.isoformat()}): drawn {self.drawn_mg:g} mg, given {self.given_mg:g} mg, "
                f"wasted {self.wasted_mg:g} mg")


_STRENGTH_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*mg\s*/\s*ml", re.IGNORECASE)


def check_product_is_the_ordered_one(record: ControlledSubstanceRecord, ordered_strength_mg_per_ml: float | None,
                                     ordered_rxnorm_code: str | None, ordered_product: str) -> None:
    """The product the nurse accounts for is the one the order is drawn from: its text names the order's strength and
    no other, and a code, when given, is the order's RxNorm code. A record of another strength would make the day's
    reconciliation balance on paper while a vial of another strength is short (CLINICAL.md: 10, 50 and 100 mg/mL
    vials look alike). Orders stored before products named their strength carry none and are not checked."""
    if ordered_strength_mg_per_ml is None:
        return
    named = {float(value) for value in _STRENGTH_IN_TEXT.findall(record.product)}
    if named != {ordered_strength_mg_per_ml}:
        raise DocumentationInputError(
            "product", f"name the product the order is drawn from with its strength: {ordered_product}")
    if record.product_code and record.product_code.strip() != (ordered_rxnorm_code or ""):
        expected = f"RxNorm {ordered_rxnorm_code}" if ordered_rxnorm_code else "no RxNorm code (leave it empty)"
        raise DocumentationInputError(
            "product_code", f"{record.product_code} is not the ordered product's code: {ordered_product} has {expected}")


def check_controlled_substance(
    record: ControlledSubstanceRecord,
    infusion_started_at: datetime,
    administered_mg: float | None,
    administered_lot: str | None,
    tolerance_mg: float,
) -> None:
    """The record adds up (drawn = given + wasted), names the lot the administration record names, is in date
    for the infusion, and "given" is the dose the administration record computed (within ``tolerance_mg``)."""
    if abs(record.unaccounted_mg) > tolerance_mg:
        raise DocumentationInputError(
            "wasted_mg",
            f"drawn {record.drawn_mg:g} mg ≠ given {record.given_mg:g} mg + wasted {record.wasted_mg:g} mg "
            f"({record.unaccounted_mg:+g} mg unaccounted)",
        )
    if record.lot_expiry < infusion_started_at.date():
        raise DocumentationInputError("lot_expiry", f"lot {record.lot_number} expired before the infusion")
    if record.witnessed_at < infusion_started_at:
        raise DocumentationInputError("witnessed_at", "waste is witnessed once the infusion has started")
    if administered_mg is None:
        raise DocumentationInputError("given_mg", "record the administration first (the dose given comes from it)")
    if abs(record.given_mg - administered_mg) > tolerance_mg:
        raise DocumentationInputError(
            "given_mg", f"{record.given_mg:g} mg differs from the administration record's {administered_mg:.1f} mg"
        )
    if administered_lot is not None and administered_lot.strip() != record.lot_number.strip():
        raise DocumentationInputError(
            "lot_number", f"lot {record.lot_number} is not the administration record's lot {administered_lot}"
        )
