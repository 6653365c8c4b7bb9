"""Contraindication screen: one answer (present / absent / unknown, with a note) per item key.

Which keys exist and whether each is absolute or relative is clinic configuration (``IntakeSettings``); this module
holds the default keys with their labels, so reasons and FHIR text read in words, not slugs.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.people import Person
from shared.records import JsonRecord

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
    KETAMINE_HYPERSENSITIVITY,
    ANEURYSMAL_VASCULAR_DISEASE,
    ARTERIOVENOUS_MALFORMATION,
    INTRACEREBRAL_HAEMORRHAGE_HISTORY,
)
DEFAULT_RELATIVE_CONTRAINDICATIONS: tuple[str, ...] = (
    UNCONTROLLED_HYPERTENSION,
    UNSTABLE_CARDIOVASCULAR_DISEASE,
    ACTIVE_PSYCHOSIS,
    ACTIVE_SUBSTANCE_USE_DISORDER,
    PREGNANCY_OR_BREASTFEEDING,
    SEVERE_HEPATIC_IMPAIRMENT,
    UNTREATED_HYPERTHYROIDISM,
    RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE,
    BIPOLAR_WITHOUT_MOOD_STABILISER,
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


def contraindication_label(key: str) -> str:
    """The human label of ``key``; a clinic-added key reads as its words ("severe-asthma" → "Severe asthma")."""
    return CONTRAINDICATION_LABELS.get(key) or key.replace("-", " ").capitalize()


class ContraindicationClass(enum.Enum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Presence(enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"
    UNKNOWN = "unknown"
    # Only for a sex- and age-dependent item (pregnancy) and only when the EHR record shows it cannot apply
    # (domain/pregnancy.py); the decision reads it as absent.
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class ContraindicationAnswer(JsonRecord):
    key: str
    presence: Presence
    note: str | None = None


@dataclass(frozen=True)
class ContraindicationScreen(JsonRecord):
    """The screen as recorded: answers in the order given, who screened and when."""

    answers: tuple[ContraindicationAnswer, ...]
    screened_at: datetime
    screened_by: Person

    def answer_for(self, key: str) -> ContraindicationAnswer | None:
        return next((answer for answer in self.answers if answer.key == key), None)
