"""FHIR Condition (the EHR problem list) → ConditionRecord, keeping every coding so settings can match any."""
from __future__ import annotations

from services.intake.domain.conditions import ConditionRecord
from services.intake.translators.common import FhirJson, day_or_none, first_coding, validated
from shared.errors import FhirMappingError
from shared.fhir.codes import CONDITION_CLINICAL, CONDITION_VERIFICATION, Code


def condition_from_fhir(condition: FhirJson) -> ConditionRecord:
    validated(condition, "Condition")
    concept = condition.get("code") or {}
    codings = tuple(
        Code(c["system"], c["code"], c.get("display") or "")
        for c in concept.get("coding", [])
        if c.get("system") and c.get("code")
    )
    if not codings and not concept.get("text"):
        raise FhirMappingError("Condition.code", "a coded or text diagnosis is required")
    return ConditionRecord(
        codings=codings,
        text=concept.get("text"),
        clinical_status=_status_code(condition.get("clinicalStatus"), CONDITION_CLINICAL),
        verification_status=_status_code(condition.get("verificationStatus"), CONDITION_VERIFICATION),
        recorded_on=day_or_none(condition.get("recordedDate"), "Condition.recordedDate"),
        ehr_condition_id=condition.get("id"),
    )


def _status_code(concept: FhirJson | None, system: str) -> str | None:
    coding = first_coding(concept, system)
    return coding.get("code") if coding else None
