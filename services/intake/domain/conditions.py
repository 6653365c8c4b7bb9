"""Conditions from the EHR (problem list) and the ones the intake asserts (TRD), in one shape both ways."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.contraindications import ACTIVE_CLINICAL_STATUSES, EXCLUDED_VERIFICATION_STATUSES  # noqa: F401 - shared
from shared.fhir.codes import TREATMENT_RESISTANT_DEPRESSION, Code
from shared.records import JsonRecord


@dataclass(frozen=True)
class ConditionRecord(JsonRecord):
    codings: tuple[Code, ...]
    text: str | None
    clinical_status: str | None
    verification_status: str | None
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


def trd_condition_record(recorded_on: date) -> ConditionRecord:
    """The TRD diagnosis the intake asserts when the clinic's TRD rule is met (local code: none exists in
    SNOMED CT or ICD-10-CM)."""
    return ConditionRecord(
        codings=(TREATMENT_RESISTANT_DEPRESSION,),
        text=TREATMENT_RESISTANT_DEPRESSION.display,
        clinical_status="active",
        verification_status="confirmed",
        recorded_on=recorded_on,
    )
