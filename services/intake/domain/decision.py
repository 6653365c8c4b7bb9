"""The eligibility decision: an outcome and every reason behind it (code, human text, and its effect).

The outcome is derived from the reasons' effects only (any BLOCK → not eligible, else any REVIEW → needs review,
else eligible), so a rule that emits a BLOCK or REVIEW can never be outvoted into "eligible".
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.trials import TrdAssessment
from shared.people import Person
from shared.records import JsonRecord


class EligibilityOutcome(enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not-eligible"
    NEEDS_REVIEW = "needs-review"


class ReasonEffect(enum.Enum):
    INFO = "info"  # supports or annotates the outcome (e.g. TRD met, an override applied)
    REVIEW = "review"  # a clinician must review before the patient can be eligible
    BLOCK = "block"  # the patient is not eligible


class ReasonCode(enum.Enum):
    TRD_MET = "trd-met"
    NOT_TRD = "not-trd"
    TRIALS_NOT_RECORDED = "trials-not-recorded"
    ABSOLUTE_CONTRAINDICATION_PRESENT = "absolute-contraindication-present"
    ABSOLUTE_CONTRAINDICATION_UNKNOWN = "absolute-contraindication-unknown"
    RELATIVE_CONTRAINDICATION_PRESENT = "relative-contraindication-present"
    RELATIVE_CONTRAINDICATION_UNKNOWN = "relative-contraindication-unknown"
    RELATIVE_CONTRAINDICATION_OVERRIDDEN = "relative-contraindication-overridden"
    CONTRAINDICATION_NOT_ANSWERED = "contraindication-not-answered"
    CONTRAINDICATION_SCREEN_NOT_RECORDED = "contraindication-screen-not-recorded"
    CONTRAINDICATION_SCREEN_CLEAR = "contraindication-screen-clear"
    INTERACTING_DRUG = "interacting-drug"
    INTERACTING_DRUG_BLOCKING = "interacting-drug-blocking"
    INTERACTING_DRUG_OVERRIDDEN = "interacting-drug-overridden"
    MEDICATIONS_NOT_RECORDED = "medications-not-recorded"
    CONSENT_ON_FILE = "consent-on-file"
    CONSENT_MISSING = "consent-missing"
    CONSENT_REFUSED = "consent-refused"
    RIDE_HOME_NOT_AGREED = "ride-home-not-agreed"
    CSSRS_HIGH_RISK = "cssrs-high-risk"
    CSSRS_MODERATE_RISK = "cssrs-moderate-risk"
    CSSRS_REVIEWED = "cssrs-reviewed"
    CSSRS_OUT_OF_DATE = "cssrs-out-of-date"
    CONSENT_INCOMPLETE = "consent-incomplete"
    URGENT_USE = "urgent-use"
    IMPLAUSIBLE_TIME = "implausible-time"
    PHQ9_SUICIDALITY = "phq9-suicidality"
    MADRS_SUICIDALITY = "madrs-suicidality"
    BASELINE_MISSING = "baseline-missing"
    MDD_NOT_ON_RECORD = "mdd-not-on-record"


@dataclass(frozen=True)
class Reason(JsonRecord):
    code: ReasonCode
    text: str
    effect: ReasonEffect


def outcome_of(reasons: tuple[Reason, ...]) -> EligibilityOutcome:
    effects = {reason.effect for reason in reasons}
    if ReasonEffect.BLOCK in effects:
        return EligibilityOutcome.NOT_ELIGIBLE
    if ReasonEffect.REVIEW in effects:
        return EligibilityOutcome.NEEDS_REVIEW
    return EligibilityOutcome.ELIGIBLE


@dataclass(frozen=True)
class EligibilityDecision(JsonRecord):
    outcome: EligibilityOutcome
    reasons: tuple[Reason, ...]
    decided_at: datetime
    trd: TrdAssessment | None
    decided_by: Person | None = None  # the clinician who asked for the decision (the message's Provenance author)
    # What the prescriber attested with the decision (shared/roles.py ATTESTATIONS); empty in decisions stored
    # before prescribers attested, and where SMART is off (no one signed in to check).
    attestation: str = ""

    @property
    def rationale(self) -> str:
        """The reasons' texts joined by "; " (RiskAssessment.prediction.rationale in the contract)."""
        return "; ".join(reason.text for reason in self.reasons)


@dataclass(frozen=True)
class DecisionSummary(JsonRecord):
    """What another service reads from the eligibility RiskAssessment (docs/contracts.md)."""

    intake_id: str
    patient_id: str
    outcome: EligibilityOutcome
    decided_at: datetime
    rationale: str
