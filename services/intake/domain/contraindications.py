"""Contraindication screen: one answer (present / absent / unknown, with a note) per item key.

Which keys exist and whether each is absolute or relative is clinic configuration, one list for the intake and the
orders service (``shared/contraindications.py``, ``KETALINK_*_CONTRAINDICATIONS``, copied into ``IntakeSettings`` at
start); the keys' labels make reasons and FHIR text read in words, not slugs.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

# The keys, labels and default lists are the clinic's, shared with the orders service's CDS cards: re-exported.
from shared.contraindications import (  # noqa: F401 - re-exported for the intake's code
    ACTIVE_PSYCHOSIS, ACTIVE_SUBSTANCE_USE_DISORDER, ANEURYSMAL_VASCULAR_DISEASE, ARTERIOVENOUS_MALFORMATION,
    BIPOLAR_WITHOUT_MOOD_STABILISER, CONTRAINDICATION_LABELS, DEFAULT_ABSOLUTE_CONTRAINDICATIONS,
    DEFAULT_RELATIVE_CONTRAINDICATIONS, INTRACEREBRAL_HAEMORRHAGE_HISTORY, KETAMINE_HYPERSENSITIVITY,
    PREGNANCY_OR_BREASTFEEDING, RAISED_INTRACRANIAL_OR_INTRAOCULAR_PRESSURE, SEVERE_HEPATIC_IMPAIRMENT,
    UNCONTROLLED_HYPERTENSION, UNSTABLE_CARDIOVASCULAR_DISEASE, UNTREATED_HYPERTHYROIDISM, contraindication_label,
)
from shared.people import Person
from shared.records import JsonRecord


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
