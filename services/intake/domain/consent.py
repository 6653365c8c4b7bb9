"""Informed consent for IV ketamine, with the ride-home agreement as its own yes/no (the label requires a
responsible adult to take the patient home), each element of the consent discussion explained and acknowledged,
and what another service can read back from the Consent.

Consent elements (issue 13, defect 15): the clinic's list (``IntakeSettings.consent_elements``; default the content
commonly explained, CLINICAL.md "Consent content commonly explained": clinic consent forms and the consensus
statement). Consent is complete only when every configured element is acknowledged; until then the patient is not
eligible. A clinic may add its own keys (lower-case words joined by "-"); they read as their words.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord


OFF_LABEL_USE = "off-label-use"
DISSOCIATION = "dissociation-and-perceptual-changes"
BP_AND_HEART_RATE_RISE = "blood-pressure-and-heart-rate-rise"
NAUSEA = "nausea"
ABUSE_POTENTIAL = "abuse-potential"
BLADDER_EFFECTS = "bladder-effects-with-long-term-use"
UNKNOWN_LONG_TERM_EFFECTS = "unknown-long-term-effects"
FASTING = "fasting"
ESCORT_AND_NO_DRIVING = "escort-and-no-driving-until-next-day"

DEFAULT_CONSENT_ELEMENTS: tuple[str, ...] = (
    OFF_LABEL_USE, DISSOCIATION, BP_AND_HEART_RATE_RISE, NAUSEA, ABUSE_POTENTIAL, BLADDER_EFFECTS,
    UNKNOWN_LONG_TERM_EFFECTS, FASTING, ESCORT_AND_NO_DRIVING,
)

CONSENT_ELEMENT_LABELS: dict[str, str] = {
    OFF_LABEL_USE: "Off-label use of ketamine for depression",
    DISSOCIATION: "Dissociation and perceptual changes",
    BP_AND_HEART_RATE_RISE: "Blood pressure and heart-rate rise",
    NAUSEA: "Nausea",
    ABUSE_POTENTIAL: "Abuse potential",
    BLADDER_EFFECTS: "Bladder effects with long-term use",
    UNKNOWN_LONG_TERM_EFFECTS: "Unknown long-term effects",
    FASTING: "Fasting before each infusion",
    ESCORT_AND_NO_DRIVING: "A responsible adult to take the patient home; no driving until the next day",
}


def consent_element_label(key: str) -> str:
    return CONSENT_ELEMENT_LABELS.get(key) or key.replace("-", " ").capitalize()


class ConsentDecision(enum.Enum):
    GIVEN = "given"
    REFUSED = "refused"


class ConsentSigner(enum.Enum):
    PATIENT = "patient"
    LEGAL_REPRESENTATIVE = "legal-representative"


@dataclass(frozen=True)
class ConsentRecord(JsonRecord):
    decision: ConsentDecision
    signed_by: ConsentSigner
    signer_name: str | None  # required for a legal representative; the patient is referenced by id
    signed_at: datetime
    consent_text_version: str
    ride_home_agreed: bool
    # Keys of the elements explained and acknowledged, in the clinic's order. () in records stored before defect 15:
    # such a consent is incomplete and the patient not eligible until it is recorded again.
    elements_acknowledged: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsentOnFile(JsonRecord):
    """A Consent read back from FHIR: ``record`` is None while consent is only proposed."""

    intake_id: str
    patient_id: str
    record: ConsentRecord | None

    @property
    def consent_given(self) -> bool:
        return self.record is not None and self.record.decision is ConsentDecision.GIVEN
