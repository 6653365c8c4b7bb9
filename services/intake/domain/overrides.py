"""A clinician's documented override of a review reason (a relative contraindication or an interacting drug class).

An override is the only way such a reason stops holding the intake at "needs review"; it records who, when and
why, and the decision lists it as a reason so the override travels with the outcome.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.people import Person
from shared.records import JsonRecord


class OverrideTarget(enum.Enum):
    CONTRAINDICATION = "contraindication"
    INTERACTING_DRUG_CLASS = "interacting-drug-class"


@dataclass(frozen=True)
class ClinicianOverride(JsonRecord):
    target: OverrideTarget
    key: str  # contraindication key or drug class name
    overridden_by: Person
    overridden_at: datetime
    reason: str
