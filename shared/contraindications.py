"""The clinic's contraindications to IV ketamine, one list for every service: the intake's screen asks about these
keys (absolute: a present item blocks eligibility; relative: a clinician's documented override), and the orders
service's CDS Hooks cards match the EHR's problem list against the condition codes each key lists, so a condition
recorded after the intake decided is seen when the ketamine order is entered.

Clinic settings, read once at start by both services (``KETALINK_`` prefix, comma-separated):
``KETALINK_ABSOLUTE_CONTRAINDICATIONS``, ``KETALINK_RELATIVE_CONTRAINDICATIONS`` (keys) and
``KETALINK_CONTRAINDICATION_CONDITION_CODES`` (``key:system|code``; a trailing ``*`` matches a code prefix, for an
ICD-10-CM category and its subcodes). Sources: /work/shared/CLINICAL.md "Contraindications" (labels, consensus).

The default codes are the ICD-10-CM categories and a few SNOMED CT concepts that name the item itself; SNOMED CT
descendants are not matched (no terminology server), and some items have no condition code that says what the item
says (hypersensitivity is an AllergyIntolerance; "active" substance use or "untreated" hyperthyroidism is not in a
code): those are screened at intake only. A clinic confirms or extends the list."""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.config import SettingsError, load_settings
from shared.fhir.codes import SNOMED

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SETTINGS_PREFIX = "KETALINK_"
# The intake's own variables before the list became the clinic's: set, they would be silently ignored.
MOVED_VARIABLES = {"INTAKE_ABSOLUTE_CONTRAINDICATIONS": "KETALINK_ABSOLUTE_CONTRAINDICATIONS",
                   "INTAKE_RELATIVE_CONTRAINDICATIONS": "KETALINK_RELATIVE_CONTRAINDICATIONS"}

# Absolute (labels; Spravato adds the vascular items). A present absolute item blocks eligibility.
KETAMINE_HYPERSENSITIVITY = "ketamine-hypersensitivity"
ANEURYSMAL_VASCULAR_DISEASE = "aneurysmal-vascular-disease"
ARTERIOVENOUS_MALFORMATION = "arteriovenous-malformation"
INTRACEREBRAL_HAEMORRHAGE_HISTORY = "intracerebral-haemorrhage-history"
# Relative (consensus and clinic practice). Present → needs a clinician's documented override.
UNCONTROLLED_HYPERTENSION = "uncontrolled-hypertension"
UNSTABLE_CARDIOVASCULAR_DISEASE = "unstable-cardiovascular-disease"
ACTIVE_PSYCHOSIS = "active-psychosis"
ACTIVE_SUBSTANCE_USE_DISORDER = "active-substance-use-disorder"
PREGNANCY_OR_BREASTFEEDING = "pregnancy-or-breastfeeding"
SEVERE_HEPATIC_IMPAIRMENT = "severe-hepatic-impairment"
UNTREATED_HYPERTHYROIDISM = "untreated-hyperthyroidism"
RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE = "raised-intracranial-or-intraocular-pressure"
BIPOLAR_WITHOUT_MOOD_STABILISER = "bipolar-without-mood-stabiliser"

DEFAULT_ABSOLUTE_CONTRAINDICATIONS: tuple[str, ...] = (
    KETAMINE_HYPERSENSITIVITY, ANEURYSMAL_VASCULAR_DISEASE, ARTERIOVENOUS_MALFORMATION,
    INTRACEREBRAL_HAEMORRHAGE_HISTORY,
)
DEFAULT_RELATIVE_CONTRAINDICATIONS: tuple[str, ...] = (
    UNCONTROLLED_HYPERTENSION, UNSTABLE_CARDIOVASCULAR_DISEASE, ACTIVE_PSYCHOSIS, ACTIVE_SUBSTANCE_USE_DISORDER,
    PREGNANCY_OR_BREASTFEEDING, SEVERE_HEPATIC_IMPAIRMENT, UNTREATED_HYPERTHYROIDISM,
    RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE, BIPOLAR_WITHOUT_MOOD_STABILISER,
)

CONTRAINDICATION_LABELS: dict[str, str] = {
    KETAMINE_HYPERSENSITIVITY: "Hypersensitivity to ketamine",
    ANEURYSMAL_VASCULAR_DISEASE: "Aneurysmal vascular disease",
    ARTERIOVENOUS_MALFORMATION: "Arteriovenous malformation",
    INTRACEREBRAL_HAEMORRHAGE_HISTORY: "History of intracerebral haemorrhage",
    UNCONTROLLED_HYPERTENSION: "Uncontrolled hypertension",
    UNSTABLE_CARDIOVASCULAR_DISEASE: "Unstable cardiovascular disease or recent myocardial infarction",
    ACTIVE_PSYCHOSIS: "Active psychosis or schizophrenia",
    ACTIVE_SUBSTANCE_USE_DISORDER: "Active substance use disorder",
    PREGNANCY_OR_BREASTFEEDING: "Pregnancy or breastfeeding",
    SEVERE_HEPATIC_IMPAIRMENT: "Severe hepatic impairment",
    UNTREATED_HYPERTHYROIDISM: "Untreated hyperthyroidism",
    RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE: "Raised intracranial or intraocular pressure",
    BIPOLAR_WITHOUT_MOOD_STABILISER: "Bipolar disorder without a mood stabiliser",
}


def _codes(key: str, system: str, *codes: str) -> tuple[str, ...]:
    return tuple(f"{key}:{system}|{code}" for code in codes)


# ICD-10-CM: I71 aortic aneurysm and dissection, I72 other aneurysm, I67.1 cerebral aneurysm (nonruptured);
# Q28.0/Q28.2 arteriovenous malformation of precerebral/cerebral vessels, Q27.3 peripheral AVM; I61 nontraumatic
# intracerebral haemorrhage, I69.1 its sequelae; I16 hypertensive crisis (urgency, emergency); I21/I22 acute and
# subsequent myocardial infarction (within 4 weeks), I20.0 unstable angina; F20 schizophrenia, F22 delusional,
# F23 brief psychotic, F25 schizoaffective, F28/F29 other and unspecified psychosis; Z33.1 pregnant state, Z34 and O09
# supervision of (high-risk) pregnancy, Z39.1 care of the lactating mother; K72 hepatic failure; E05 thyrotoxicosis;
# G93.2 benign intracranial hypertension, H40.05 ocular hypertension, H40.2 primary angle-closure glaucoma;
# F31 bipolar disorder (whether a mood stabiliser is taken is the prescriber's review). SNOMED CT: 274100004 cerebral
# haemorrhage, 22298006 myocardial infarction, 58214004 schizophrenia, 69322001 psychotic disorder, 77386006
# pregnancy.
DEFAULT_CONDITION_CODES: tuple[str, ...] = (
    *_codes(ANEURYSMAL_VASCULAR_DISEASE, ICD10CM, "I71*", "I72*", "I67.1"),
    *_codes(ARTERIOVENOUS_MALFORMATION, ICD10CM, "Q28.0*", "Q28.2", "Q27.3*"),
    *_codes(INTRACEREBRAL_HAEMORRHAGE_HISTORY, ICD10CM, "I61*", "I69.1*"),
    *_codes(INTRACEREBRAL_HAEMORRHAGE_HISTORY, SNOMED, "274100004"),
    *_codes(UNCONTROLLED_HYPERTENSION, ICD10CM, "I16*"),
    *_codes(UNSTABLE_CARDIOVASCULAR_DISEASE, ICD10CM, "I21*", "I22*", "I20.0"),
    *_codes(UNSTABLE_CARDIOVASCULAR_DISEASE, SNOMED, "22298006"),
    *_codes(ACTIVE_PSYCHOSIS, ICD10CM, "F20*", "F22*", "F23*", "F25*", "F28*", "F29*"),
    *_codes(ACTIVE_PSYCHOSIS, SNOMED, "58214004", "69322001"),
    *_codes(PREGNANCY_OR_BREASTFEEDING, ICD10CM, "Z33.1", "Z34*", "O09*", "Z39.1"),
    *_codes(PREGNANCY_OR_BREASTFEEDING, SNOMED, "77386006"),
    *_codes(SEVERE_HEPATIC_IMPAIRMENT, ICD10CM, "K72*"),
    *_codes(UNTREATED_HYPERTHYROIDISM, ICD10CM, "E05*"),
    *_codes(RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE, ICD10CM, "G93.2", "H40.05*", "H40.2*"),
    *_codes(BIPOLAR_WITHOUT_MOOD_STABILISER, ICD10CM, "F31*"),
)

# A Condition counts while its clinical status says the patient has it (the intake reads the problem list the same
# way); one refuted or entered in error never counts.
ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
EXCLUDED_VERIFICATION_STATUSES = frozenset({"refuted", "entered-in-error"})

_KEY = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CODE_ENTRY = re.compile(r"^(?P<key>[a-z0-9]+(?:-[a-z0-9]+)*):(?P<system>[^|\s]+)\|(?P<code>[^*\s]+)(?P<prefix>\*?)$")


def contraindication_label(key: str) -> str:
    """The human label of ``key``; a clinic-added key reads as its words ("severe-asthma" → "Severe asthma")."""
    return CONTRAINDICATION_LABELS.get(key) or key.replace("-", " ").capitalize()


@dataclass(frozen=True)
class ConditionCode:
    """One entry of ``condition_codes``: the key it flags, a coding's system and code (or code prefix)."""

    key: str
    system: str
    code: str
    prefix: bool

    def matches(self, system: str, code: str) -> bool:
        return system == self.system and (code.startswith(self.code) if self.prefix else code == self.code)

    @property
    def text(self) -> str:
        return f"{self.system}|{self.code}{'*' if self.prefix else ''}"


@dataclass(frozen=True)
class ContraindicationSettings:
    absolute_contraindications: tuple[str, ...] = DEFAULT_ABSOLUTE_CONTRAINDICATIONS
    relative_contraindications: tuple[str, ...] = DEFAULT_RELATIVE_CONTRAINDICATIONS
    contraindication_condition_codes: tuple[str, ...] = DEFAULT_CONDITION_CODES

    def validate(self) -> None:
        keys = self.absolute_contraindications + self.relative_contraindications
        for key in keys:
            if not _KEY.match(key):
                raise ValueError(f"contraindication key {key!r} must be lower-case words joined by '-'")
        duplicated = sorted({key for key in keys if keys.count(key) > 1})
        if duplicated:
            raise ValueError(f"contraindication keys listed twice (or in both classes): {duplicated}")
        unknown = sorted({code.key for code in self.condition_codes} - set(keys))
        if unknown:
            raise ValueError(f"contraindication_condition_codes names keys that are not contraindications: {unknown}")

    @property
    def condition_codes(self) -> tuple[ConditionCode, ...]:
        """The parsed ``contraindication_condition_codes``; ValueError names a malformed entry."""
        parsed = []
        for entry in self.contraindication_condition_codes:
            match = _CODE_ENTRY.match(entry.strip())
            if match is None:
                raise ValueError(f"contraindication_condition_codes entry {entry!r} must be 'key:system|code' "
                                 "(a trailing '*' matches a code prefix)")
            parsed.append(ConditionCode(match["key"], match["system"], match["code"], bool(match["prefix"])))
        return tuple(parsed)

    def is_absolute(self, key: str) -> bool:
        return key in self.absolute_contraindications


def matching_contraindications(codings: Iterable[tuple[str, str]], settings: ContraindicationSettings
                               ) -> list[ConditionCode]:
    """The entries of the clinic's list that any ``(system, code)`` of one condition matches, one per key."""
    found: dict[str, ConditionCode] = {}
    pairs = list(codings)
    for entry in settings.condition_codes:
        if entry.key not in found and any(entry.matches(system, code) for system, code in pairs):
            found[entry.key] = entry
    return list(found.values())


def load_contraindication_settings(environ: Mapping[str, str] | None = None) -> ContraindicationSettings:
    """The clinic's list from ``KETALINK_*``; SettingsError (naming the variable) for a bad one or for an intake
    variable the list replaced, so no service starts on a list other than the clinic's."""
    environ = os.environ if environ is None else environ
    for old, new in MOVED_VARIABLES.items():
        if environ.get(old):
            raise SettingsError(f"{old} is replaced by {new} (one list for the intake and the orders service): "
                                f"set {new} instead")
    return load_settings(ContraindicationSettings, SETTINGS_PREFIX, environ)
