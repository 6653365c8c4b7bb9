"""The patient's medication list (from the EHR's MedicationStatements) and drug-name matching.

Matching rule (for interacting drug classes and for spotting antidepressants), documented for the clinic:
a medication name is lower-cased and split into words of letters and digits; a term matches when its words
appear consecutively in the name, each equal to a name word; a term starting with ``*`` matches a first word
that ends with the rest (``*azepam`` matches "Lorazepam 1 MG Oral Tablet"). Only names are compared, never
codes, so a term list works whatever drug vocabulary the EHR uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shared.records import JsonRecord

# MedicationStatement statuses that mean the patient takes (or may take) the drug now: "unknown" counts, so an
# unclear status is screened rather than ignored.
CURRENT_MEDICATION_STATUSES = frozenset({"active", "intended", "on-hold", "unknown"})

# Interacting drug classes as "class:term" (CLINICAL.md: theophylline/aminophylline lower the seizure threshold;
# benzodiazepines and CNS depressants add sedation and may blunt the effect; sympathomimetics, psychostimulants
# and MAOIs raise blood pressure). The term lists are defaults the clinic must review.
DEFAULT_INTERACTING_DRUG_TERMS: tuple[str, ...] = (
    "xanthine:theophylline", "xanthine:aminophylline",
    "benzodiazepine:*azepam", "benzodiazepine:*azolam", "benzodiazepine:chlordiazepoxide",
    "benzodiazepine:clobazam", "benzodiazepine:clorazepate",
    "cns-depressant:zolpidem", "cns-depressant:zopiclone", "cns-depressant:eszopiclone",
    "cns-depressant:zaleplon", "cns-depressant:*barbital", "cns-depressant:morphine",
    "cns-depressant:oxycodone", "cns-depressant:hydrocodone", "cns-depressant:hydromorphone",
    "cns-depressant:codeine", "cns-depressant:tramadol", "cns-depressant:tapentadol",
    "cns-depressant:fentanyl", "cns-depressant:methadone", "cns-depressant:buprenorphine",
    "cns-depressant:gabapentin", "cns-depressant:pregabalin",
    "sympathomimetic:*amphetamine", "sympathomimetic:lisdexamfetamine", "sympathomimetic:*methylphenidate",
    "sympathomimetic:*modafinil", "sympathomimetic:*ephedrine", "sympathomimetic:phenylephrine",
    "maoi:phenelzine", "maoi:tranylcypromine", "maoi:isocarboxazid", "maoi:selegiline", "maoi:moclobemide",
)

# Antidepressants, to pick prior-trial candidates out of the medication history (same matching rule).
DEFAULT_ANTIDEPRESSANT_TERMS: tuple[str, ...] = (
    "sertraline", "fluoxetine", "paroxetine", "citalopram", "escitalopram", "fluvoxamine",
    "venlafaxine", "desvenlafaxine", "duloxetine", "levomilnacipran", "milnacipran",
    "bupropion", "mirtazapine", "vortioxetine", "vilazodone", "trazodone", "nefazodone", "agomelatine",
    "amitriptyline", "nortriptyline", "imipramine", "desipramine", "clomipramine", "doxepin", "protriptyline",
    "trimipramine", "amoxapine", "maprotiline",
    "phenelzine", "tranylcypromine", "isocarboxazid", "selegiline", "moclobemide",
)

_WORD = re.compile(r"[a-z0-9]+")


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

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_MEDICATION_STATUSES

    def duration_weeks(self, as_of: date) -> float | None:
        """Weeks from start to end (or to ``as_of`` while still taken), to one decimal; None without a start."""
        if self.started_on is None:
            return None
        end = self.ended_on or as_of
        return round(max((end - self.started_on).days, 0) / 7, 1)


@dataclass(frozen=True)
class DrugNameTerm:
    drug_class: str
    term: str


@dataclass(frozen=True)
class InteractingDrugFlag(JsonRecord):
    drug_class: str
    drug_name: str
    matched_term: str


def parse_class_terms(entries: tuple[str, ...]) -> tuple[DrugNameTerm, ...]:
    """``"class:term"`` entries → terms; ValueError naming the first malformed entry (used by settings.validate)."""
    terms = []
    for entry in entries:
        drug_class, separator, term = entry.partition(":")
        if not separator or not drug_class.strip() or not _WORD.search(term.lower()):
            raise ValueError(f"drug term {entry!r} must look like 'class:name'")
        terms.append(DrugNameTerm(drug_class.strip().lower(), term.strip().lower()))
    return tuple(terms)


def name_matches(drug_name: str, term: str) -> bool:
    """True when ``term`` matches ``drug_name`` under the module's matching rule."""
    name_words = _WORD.findall(drug_name.lower())
    suffix_first = term.strip().startswith("*")
    term_words = _WORD.findall(term.lower())
    if not term_words:
        return False
    for start in range(len(name_words) - len(term_words) + 1):
        window = name_words[start : start + len(term_words)]
        first_ok = window[0].endswith(term_words[0]) if suffix_first else window[0] == term_words[0]
        if first_ok and window[1:] == term_words[1:]:
            return True
    return False


def interacting_drug_flags(
    medications: tuple[MedicationEntry, ...], class_terms: tuple[DrugNameTerm, ...]
) -> tuple[InteractingDrugFlag, ...]:
    """One flag per current medication and matching drug class (first matching term per class)."""
    flags = []
    for medication in medications:
        if not medication.is_current:
            continue
        seen_classes: set[str] = set()
        for term in class_terms:
            if term.drug_class not in seen_classes and name_matches(medication.drug_name, term.term):
                seen_classes.add(term.drug_class)
                flags.append(InteractingDrugFlag(term.drug_class, medication.drug_name, term.term))
    return tuple(flags)
