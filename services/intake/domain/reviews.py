"""Clinician decisions that let an intake past a rule, each recorded with who, when and why, and listed as a reason
in the decision so they travel with it to orders and the EHR (the RiskAssessment's rationale; the Provenance names
the decider).

- ``BehaviouralHealthReview``: a C-SSRS screener at moderate or high risk (Columbia triage, CLINICAL.md: item 3 is
  moderate; items 4-5 or behaviour in the past 3 months high) needs a documented behavioural-health review before
  the patient can be eligible. The review belongs to the screen it reviewed (``cssrs_answered_at``): a new screen
  needs a new review.
- ``UrgentUseOverride``: a prescriber sets the TRD rule aside for urgent use (e.g. acute suicidal ideation), with the
  reason. It lifts the TRD rule only: contraindications, consent and the C-SSRS review still apply.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.cssrs import CssrsRisk
from shared.people import Person
from shared.records import JsonRecord


class ReviewOutcome(enum.Enum):
    PROCEED = "proceed"  # safe to proceed with ketamine treatment (with the safety measures in the note)
    DO_NOT_PROCEED = "do-not-proceed"  # not now: the patient is not eligible while this review stands


@dataclass(frozen=True)
class BehaviouralHealthReview(JsonRecord):
    reviewed_by: Person  # the signed-in clinician
    reviewed_at: datetime
    outcome: ReviewOutcome
    note: str  # what was assessed and the safety measures agreed
    risk_reviewed: CssrsRisk  # the screener's risk when reviewed
    cssrs_answered_at: datetime  # which screen was reviewed


@dataclass(frozen=True)
class UrgentUseOverride(JsonRecord):
    overridden_by: Person  # the signed-in prescriber
    overridden_at: datetime
    reason: str  # e.g. "acute suicidal ideation; inpatient team requests rapid-acting treatment"
    prescriber_checked: bool = False  # True when the EHR confirmed a prescriber role (shared/roles.py)
