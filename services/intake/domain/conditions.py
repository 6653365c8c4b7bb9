"""Conditions from the EHR (problem list) and the ones the intake asserts (TRD), in one shape both ways."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.fhir.codes import Code
from services.intake.domain.serialization import JsonRecord

ACTIVE_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse"})
EXCLUDED_VERIFICATION_STATUSES = frozenset({"refuted", "entered-in-error"})


@dataclass(frozen=True)
class ConditionRecord(JsonRecord):
    codings: tuple[Code, ...]
    text: str | None
    clinical_status: str | None
    verification_status: str | None
    onset_on: date | None = None
    recorded_on: date | None = None
    ehr_condition_id: str | None = None

    @property
    def is_active(self) -> bool:
        return (
            self.clinical_status in ACTIVE_CLINICAL_STATUSES
            and self.verification_status not in EXCLUDED_VERIFICATION_STATUSES
        )

    def has_code(self, system_and_code: str) -> bool:
        """True when one coding is ``system|code`` (the form clinic settings use)."""
        return any(f"{c.system}|{c.code}" == system_and_code for c in self.codings)
