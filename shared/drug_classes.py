"""Interacting drug classes and the drug-name and drug-code matching rule, shared by the intake's medication screen
and the orders service's CDS Hooks cards, so both flag the same drugs the same way (each service configures its
own list, with these defaults).

Matching rule (for interacting drug classes and for spotting antidepressants), documented for the clinic:
a medication name is lower-cased and split into words of letters and digits; a term matches when its words
appear consecutively in the name, each equal to a name word; a term starting with ``*`` matches a first word
that ends with the rest (``*azepam`` matches "Lorazepam 1 MG Oral Tablet").

Coded matching (issue 13, defect 16): where the EHR codes a medication, each of its codings is compared
with the clinic's ``class:system|code`` entries (an RxNorm ingredient such as lamotrigine 28439, or a class code;
a trailing ``*`` matches a code prefix, for hierarchical class systems such as ATC). A medication is flagged for a
class when a code or a name matches: codes catch a drug whatever its brand or product name, names catch the EHRs
that send product-level codes (RxNorm SCD/SBD) or none. Ingredient codes were verified against CPIC's RxNorm drug
list (cpicpgx/cpic-schema) and RxNav; butalbital, linezolid, esketamine and the xanthines are matched by name only
(their codes were not verified).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared.records import JsonRecord

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
    "sympathomimetic:*amphetamine", "sympathomimetic:*amfetamine", "sympathomimetic:*methylphenidate",
    "sympathomimetic:*modafinil", "sympathomimetic:*ephedrine", "sympathomimetic:phenylephrine",
    "maoi:phenelzine", "maoi:tranylcypromine", "maoi:isocarboxazid", "maoi:selegiline", "maoi:moclobemide",
    # Issue 13, defect 16: butalbital (a barbiturate the "*barbital" suffix misses), linezolid and methylene blue
    # (MAO inhibition: BP), memantine, esketamine and dextromethorphan (NMDA antagonists: additive dissociation and
    # sedation), lamotrigine (reduces ketamine's glutamate surge: may blunt the effect). Defaults to review.
    "cns-depressant:butalbital", "cns-depressant:*bital",
    "maoi:linezolid", "maoi:methylene blue", "maoi:rasagiline", "maoi:safinamide",
    "nmda-antagonist:memantine", "nmda-antagonist:esketamine", "nmda-antagonist:dextromethorphan",
    "nmda-antagonist:amantadine",
    "effect-blunting:lamotrigine",
    # Reviewer R3: the INN spelling ("dexamfetamine", "amfetamine", as written outside the US and in free text) is
    # matched by "*amfetamine" above, which also covers lisdexamfetamine.
)

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# RxNorm ingredient (TTY IN) codes, each checked in CPIC's RxNorm list (cpicpgx/cpic-schema drug.sql) or RxNav.
DEFAULT_INTERACTING_DRUG_CODES: tuple[str, ...] = (
    f"benzodiazepine:{RXNORM_SYSTEM}|3322",  # diazepam
    f"benzodiazepine:{RXNORM_SYSTEM}|6960",  # midazolam
    f"benzodiazepine:{RXNORM_SYSTEM}|7781",  # oxazepam
    f"benzodiazepine:{RXNORM_SYSTEM}|21241",  # clobazam
    f"cns-depressant:{RXNORM_SYSTEM}|7052",  # morphine
    f"cns-depressant:{RXNORM_SYSTEM}|7804",  # oxycodone
    f"cns-depressant:{RXNORM_SYSTEM}|2670",  # codeine
    f"cns-depressant:{RXNORM_SYSTEM}|4337",  # fentanyl
    f"cns-depressant:{RXNORM_SYSTEM}|6813",  # methadone
    f"cns-depressant:{RXNORM_SYSTEM}|10689",  # tramadol
    f"sympathomimetic:{RXNORM_SYSTEM}|6901",  # methylphenidate
    f"sympathomimetic:{RXNORM_SYSTEM}|30125",  # modafinil
    f"maoi:{RXNORM_SYSTEM}|6878",  # methylene blue
    f"nmda-antagonist:{RXNORM_SYSTEM}|6719",  # memantine
    f"nmda-antagonist:{RXNORM_SYSTEM}|3289",  # dextromethorphan
    f"effect-blunting:{RXNORM_SYSTEM}|28439",  # lamotrigine
)

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class DrugNameTerm:
    drug_class: str
    term: str


@dataclass(frozen=True)
class DrugCodeTerm:
    drug_class: str
    system: str
    code: str  # without the trailing "*"
    prefix: bool = False

    def matches(self, coding: str) -> bool:
        system, _, code = coding.partition("|")
        if system != self.system:
            return False
        return code.startswith(self.code) if self.prefix else code == self.code


@dataclass(frozen=True)
class InteractingDrugFlag(JsonRecord):
    drug_class: str
    drug_name: str
    matched_term: str  # the name term, or "system|code" when a code matched


def parse_class_terms(entries: tuple[str, ...]) -> tuple[DrugNameTerm, ...]:
    """``"class:term"`` entries → terms; ValueError naming the first malformed entry (used by settings.validate)."""
    terms = []
    for entry in entries:
        drug_class, separator, term = entry.partition(":")
        if not separator or not drug_class.strip() or not _WORD.search(term.lower()):
            raise ValueError(f"drug term {entry!r} must look like 'class:name'")
        terms.append(DrugNameTerm(drug_class.strip().lower(), term.strip().lower()))
    return tuple(terms)


def parse_class_codes(entries: tuple[str, ...]) -> tuple[DrugCodeTerm, ...]:
    """``"class:system|code"`` entries (``code*`` for a prefix) → code terms; ValueError naming a malformed one."""
    terms = []
    for entry in entries:
        drug_class, separator, coding = entry.partition(":")
        system, bar, code = coding.rpartition("|")
        if (not separator or not drug_class.strip() or not bar or not system.startswith(("http://", "https://", "urn:"))
                or not code.rstrip("*") or any(ch.isspace() for ch in coding)):
            raise ValueError(f"drug code {entry!r} must look like 'class:system|code'")
        terms.append(DrugCodeTerm(drug_class.strip().lower(), system, code.rstrip("*"), code.endswith("*")))
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


def drug_class_flags(drug_name: str, codings: tuple[str, ...], class_terms: tuple[DrugNameTerm, ...],
                     class_codes: tuple[DrugCodeTerm, ...] = ()) -> tuple[InteractingDrugFlag, ...]:
    """One flag per drug class one medication matches: a matching code (``system|code``) first, else the first
    matching name term of the class."""
    flags = []
    seen_classes: set[str] = set()
    for code_term in class_codes:
        matched = next((coding for coding in codings if code_term.matches(coding)), None)
        if code_term.drug_class not in seen_classes and matched is not None:
            seen_classes.add(code_term.drug_class)
            flags.append(InteractingDrugFlag(code_term.drug_class, drug_name, matched))
    for term in class_terms:
        if term.drug_class not in seen_classes and name_matches(drug_name, term.term):
            seen_classes.add(term.drug_class)
            flags.append(InteractingDrugFlag(term.drug_class, drug_name, term.term))
    return tuple(flags)
