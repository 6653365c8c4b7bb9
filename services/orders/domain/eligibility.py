"""The intake's eligibility decision, as orders receives it (``intake-eligibility-decided``). The domain is given
this record; it never fetches it. An order is refused at create and at sign unless it says eligible and consent
is on file for the same patient."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.records import JsonRecord
from services.orders.domain.errors import OrdersInputError, Violation
from services.orders.domain.timestamps import require_aware


class EligibilityStatus(enum.Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not-eligible"
    NEEDS_REVIEW = "needs-review"


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
    if not eligibility.consent_on_file:
        violations.append(Violation("eligibility.consent_on_file", "no signed consent is on file"))
    return violations
