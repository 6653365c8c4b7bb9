"""The intake's eligibility decision, as orders receives it (``intake-eligibility-decided``). The domain is given
this record; it never fetches it. An order is refused at create, at sign and at resume unless it says eligible and
consent is on file for the same patient.

A reopened intake (``intake-reopened``) withdraws its decision: the record becomes ``withdrawn`` (dated when it was
withdrawn, so a late copy of the old decision cannot bring it back) until the intake decides again."""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from shared.records import JsonRecord
from services.orders.domain.errors import OrdersInputError, Violation
from services.orders.domain.timestamps import require_aware


class EligibilityStatus(enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not-eligible"
    NEEDS_REVIEW = "needs-review"
    WITHDRAWN = "withdrawn"  # the intake was reopened: no decision stands until it decides again


@dataclass(frozen=True)
class EligibilityDecision(JsonRecord):
    patient_id: str
    intake_id: str
    status: EligibilityStatus
    consent_on_file: bool
    decided_at: datetime

    def __post_init__(self) -> None:
        if not self.patient_id:
            raise OrdersInputError("eligibility.patient_id", "missing")
        if not self.intake_id:
            raise OrdersInputError("eligibility.intake_id", "missing")
        require_aware(self.decided_at, "eligibility.decided_at")


def eligibility_violations(eligibility: EligibilityDecision | None, patient_id: str) -> list[Violation]:
    """Every reason the patient may not be ordered ketamine now; empty when the order may proceed."""
    if eligibility is None:
        return [Violation("eligibility", "no intake eligibility decision is on file for the patient")]
    violations = []
    if eligibility.patient_id != patient_id:
        violations.append(Violation("eligibility.patient_id", "the eligibility decision is for another patient"))
    if eligibility.status is EligibilityStatus.NOT_ELIGIBLE:
        violations.append(Violation("eligibility.status", "the intake found the patient not eligible"))
    elif eligibility.status is EligibilityStatus.NEEDS_REVIEW:
        violations.append(Violation("eligibility.status", "the intake needs a clinician's review before ordering"))
    elif eligibility.status is EligibilityStatus.WITHDRAWN:
        violations.append(Violation("eligibility.status", "the intake was reopened and its decision withdrawn: "
                                                          "a new eligibility decision is needed"))
        return violations  # consent belongs to the withdrawn decision: one reason is the whole story
    if not eligibility.consent_on_file:
        violations.append(Violation("eligibility.consent_on_file", "no signed consent is on file"))
    return violations


def withdrawn(current: EligibilityDecision | None, intake_id: str, withdrawn_at: datetime
              ) -> EligibilityDecision | None:
    """The patient's eligibility once intake ``intake_id`` was reopened at ``withdrawn_at``; None when that changes
    nothing: the stored decision is another intake's, or newer than the withdrawal (the intake decided again), or
    there is none. Withdrawing is never undone here: only a new decision (newer ``decided_at``) replaces it.
    A decision in the same second as the withdrawal (FHIR instants are whole seconds) is withdrawn: messages of one
    patient arrive in the order intake sent them, so the reopening came after it, and withdrawing is the safe side
    (as ``save_eligibility`` lets a later-arriving decision of the same second replace the stored one)."""
    require_aware(withdrawn_at, "eligibility.withdrawn_at")
    if current is None or current.intake_id != intake_id or current.decided_at > withdrawn_at:
        return None
    if current.status is EligibilityStatus.WITHDRAWN:
        return None
    return replace(current, status=EligibilityStatus.WITHDRAWN, consent_on_file=False, decided_at=withdrawn_at)
