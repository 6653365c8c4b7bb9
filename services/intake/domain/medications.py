"""The patient's medication list (from the EHR's MedicationStatements). Drug classes and the matching rule are
``shared/drug_classes.py`` (the orders service's CDS cards flag interacting drugs with the same rule)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.drug_classes import (
    DEFAULT_INTERACTING_DRUG_CODES, DEFAULT_INTERACTING_DRUG_TERMS, RXNORM_SYSTEM, DrugCodeTerm, DrugNameTerm,
    InteractingDrugFlag, drug_class_flags, name_matches, parse_class_codes, parse_class_terms,
)
from shared.records import JsonRecord

__all__ = ["CURRENT_MEDICATION_STATUSES", "DEFAULT_ANTIDEPRESSANT_TERMS", "DEFAULT_INTERACTING_DRUG_CODES",
           "DEFAULT_INTERACTING_DRUG_TERMS", "RXNORM_SYSTEM", "DrugCodeTerm", "DrugNameTerm", "InteractingDrugFlag",
           "MedicationEntry", "interacting_drug_flags", "name_matches", "parse_class_codes", "parse_class_terms"]

# MedicationStatement statuses that mean the patient takes (or may take) the drug now: "unknown" counts, so an
# unclear status is screened rather than ignored.
CURRENT_MEDICATION_STATUSES = frozenset({"active", "intended", "on-hold", "unknown"})

# Antidepressants, to pick prior-trial candidates out of the medication history (same matching rule).
DEFAULT_ANTIDEPRESSANT_TERMS: tuple[str, ...] = (
    "sertraline", "fluoxetine", "paroxetine", "citalopram", "escitalopram", "fluvoxamine",
    "venlafaxine", "desvenlafaxine", "duloxetine", "levomilnacipran", "milnacipran",
    "bupropion", "mirtazapine", "vortioxetine", "vilazodone", "trazodone", "nefazodone", "agomelatine",
    "amitriptyline", "nortriptyline", "imipramine", "desipramine", "clomipramine", "doxepin", "protriptyline",
    "trimipramine", "amoxapine", "maprotiline",
    "phenelzine", "tranylcypromine", "isocarboxazid", "selegiline", "moclobemide",
)


@dataclass(frozen=True)
class MedicationEntry(JsonRecord):
    """One medication as the EHR reports it; dates are what the EHR knows (either may be missing)."""

    drug_name: str
    status: str
    rxnorm_code: str | None = None
    dose_text: str | None = None
    started_on: date | None = None
    ended_on: date | None = None
    ehr_medication_statement_id: str | None = None
    codings: tuple[str, ...] = ()  # every coding of the EHR's concept as "system|code" (() in older records)

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_MEDICATION_STATUSES

    def duration_weeks(self, as_of: date) -> float | None:
        """Weeks from start to end (or to ``as_of`` while still taken), to one decimal; None without a start."""
        if self.started_on is None:
            return None
        end = self.ended_on or as_of
        return round(max((end - self.started_on).days, 0) / 7, 1)


def interacting_drug_flags(
    medications: tuple[MedicationEntry, ...], class_terms: tuple[DrugNameTerm, ...],
    class_codes: tuple[DrugCodeTerm, ...] = (),
) -> tuple[InteractingDrugFlag, ...]:
    """One flag per current medication and matching drug class: a matching code first, else the first matching
    name term of the class."""
    flags: list[InteractingDrugFlag] = []
    for medication in medications:
        if not medication.is_current:
            continue
        codings = medication.codings or ((f"{RXNORM_SYSTEM}|{medication.rxnorm_code}",) if medication.rxnorm_code
                                         else ())
        flags += drug_class_flags(medication.drug_name, codings, class_terms, class_codes)
    return tuple(flags)
