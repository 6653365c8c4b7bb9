"""Informed consent for IV ketamine, with the ride-home agreement as its own yes/no (the label requires a
responsible adult to take the patient home), and what another service can read back from the Consent."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord


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


@dataclass(frozen=True)
class ConsentOnFile(JsonRecord):
    """A Consent read back from FHIR: ``record`` is None while consent is only proposed."""

    intake_id: str
    patient_id: str
    record: ConsentRecord | None

    @property
    def consent_given(self) -> bool:
        return self.record is not None and self.record.decision is ConsentDecision.GIVEN
