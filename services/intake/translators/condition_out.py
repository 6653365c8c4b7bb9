"""ConditionRecord → FHIR Condition (the TRD diagnosis the intake asserts; any record round-trips)."""
from __future__ import annotations

from services.intake.domain.conditions import ConditionRecord
from services.intake.translators.codes import CONDITION_KIND
from services.intake.translators.common import FhirJson
from shared.fhir.codes import CONDITION_CLINICAL, CONDITION_VERIFICATION, Code
from shared.fhir.datatypes import fhir_date, identifier, reference
from shared.fhir.validate import validate_resource

PROBLEM_LIST_CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item",
                "display": "Problem List Item"}]
}


def condition_to_fhir(condition: ConditionRecord, patient_id: str, intake_id: str) -> FhirJson:
    """Identifier value ``{intake id}-{first code}``, so a re-sent decision updates the same Condition."""
    primary = condition.codings[0].code if condition.codings else "condition"
    concept: FhirJson = {"coding": [_coding(c) for c in condition.codings]} if condition.codings else {}
    if condition.text:
        concept["text"] = condition.text
    resource: FhirJson = {
        "resourceType": "Condition",
        "identifier": [identifier(CONDITION_KIND, f"{intake_id}-{primary}")],
        "category": [PROBLEM_LIST_CATEGORY],
        "code": concept,
        "subject": reference("Patient", patient_id),
    }
    if condition.clinical_status:
        resource["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": condition.clinical_status}]}
    if condition.verification_status:
        resource["verificationStatus"] = {
            "coding": [{"system": CONDITION_VERIFICATION, "code": condition.verification_status}]
        }
    if condition.recorded_on:
        resource["recordedDate"] = fhir_date(condition.recorded_on)
    return validate_resource(resource)


def _coding(code: Code) -> FhirJson:
    result = {"system": code.system, "code": code.code}
    if code.display:
        result["display"] = code.display
    return result
