"""The intake record: everything gathered for one patient's eligibility decision, stored as one JSON document.

Lifecycle: in-progress → decided. Parts are recorded only while in progress; after a decision a clinician must
reopen the intake (recorded with who, when and the decision it set aside) before anything changes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.conditions import ConditionRecord
from services.intake.domain.consent import ConsentRecord
from services.intake.domain.contraindications import ContraindicationScreen
from services.intake.domain.cssrs import CssrsScreen
from services.intake.domain.decision import EligibilityDecision
from services.intake.domain.medications import MedicationEntry
from services.intake.domain.overrides import ClinicianOverride
from services.intake.domain.patient import PatientSummary, Referral
from services.intake.domain.reviews import BehaviouralHealthReview, UrgentUseOverride
from services.intake.domain.scales import MadrsRating, Phq9Response
from services.intake.domain.trials import AntidepressantTrial
from services.intake.domain.vitals import BaselineVitals
from shared.people import Person
from shared.records import JsonRecord


class IntakeStatus(enum.Enum):
    IN_PROGRESS = "in-progress"
    DECIDED = "decided"


@dataclass(frozen=True)
class Reopening(JsonRecord):
    reopened_by: Person
    reopened_at: datetime
    reason: str
    previous_decision: EligibilityDecision


@dataclass(frozen=True)
class Intake(JsonRecord):
    """None means "not recorded yet"; an empty tuple means "recorded, none" (e.g. no current medications)."""

    intake_id: str
    patient_id: str  # the EHR Patient id
    started_at: datetime
    status: IntakeStatus = IntakeStatus.IN_PROGRESS
    started_by: Person | None = None  # the clinician who started it in Ketalink; None when an EHR referral did
    referral: Referral | None = None
    patient: PatientSummary | None = None
    conditions: tuple[ConditionRecord, ...] | None = None
    medications: tuple[MedicationEntry, ...] | None = None
    trials: tuple[AntidepressantTrial, ...] | None = None
    contraindications: ContraindicationScreen | None = None
    overrides: tuple[ClinicianOverride, ...] = ()
    vitals: BaselineVitals = BaselineVitals()
    phq9: Phq9Response | None = None
    madrs: MadrsRating | None = None
    cssrs: CssrsScreen | None = None
    consent: ConsentRecord | None = None
    cssrs_review: BehaviouralHealthReview | None = None  # the review of the current C-SSRS screen (moderate/high)
    urgent_use: UrgentUseOverride | None = None  # a prescriber set the TRD rule aside
    decision: EligibilityDecision | None = None
    reopenings: tuple[Reopening, ...] = ()
