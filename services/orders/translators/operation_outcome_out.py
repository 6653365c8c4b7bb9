"""OperationOutcomes the orders service answers with: the CPOE response (one issue per rejection reason, its
``expression`` naming the MedicationRequest element) and the 4xx body for any orders input error.

OperationOutcome has no ``identifier`` element in R4, so unlike other resources it carries no Ketalink identifier."""
from __future__ import annotations

from typing import Any

from shared.fhir.validate import validate_resource
from shared.errors import FieldInputError
from services.orders.domain.cpoe import CpoeDecision
from services.orders.domain.errors import EligibilityRefusedError, IllegalTransitionError, StaleWeightError, Violation

_DOSAGE = "MedicationRequest.dosageInstruction[0]"
# Domain field of a CPOE rejection reason (or its first segment) → the MedicationRequest element it came from.
CPOE_EXPRESSIONS = {
    "status": "MedicationRequest.status",
    "intent": "MedicationRequest.intent",
    "medication": "MedicationRequest.medication",
    "route": f"{_DOSAGE}.route",
    "reason": "MedicationRequest.reasonCode",
    "mg_per_kg": f"{_DOSAGE}.doseAndRate.where(type.coding.code='ordered').doseQuantity",
    "duration_min": f"{_DOSAGE}.timing.repeat.duration",
    "dose_mg": f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').doseQuantity",
    "drug_volume_ml": f"{_DOSAGE}.doseAndRate",
    "rate_ml_per_h": f"{_DOSAGE}.doseAndRate.where(type.coding.code='calculated').rateQuantity",
    "infusion_count": "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed",
    "infusions_per_week": "MedicationRequest.dispenseRequest",
    "start_date": "MedicationRequest.dispenseRequest",
    "weight": "MedicationRequest.supportingInformation",
    "height": "MedicationRequest.subject",
    "sex": "MedicationRequest.subject",
    "eligibility": "MedicationRequest.subject",
    "patient_id": "MedicationRequest.subject",  # unknown to the EHR, or a series already running
}


def cpoe_outcome(decision: CpoeDecision) -> dict[str, Any]:
    """Rejected: one ``business-rule`` error per reason. Accepted: one information issue naming the new order."""
    if decision.accepted and decision.result is not None:
        order = decision.result.order
        issues = [{"severity": "information", "code": "informational",
                   "details": {"text": f"accepted as Ketalink order {order.order_id} "
                                       f"(series {order.series_id})"}}]
    else:
        issues = [_issue("error", "business-rule", reason.message, cpoe_expression(reason))
                  for reason in decision.reasons]
    return validate_resource({"resourceType": "OperationOutcome", "issue": issues})


def cpoe_expression(reason: Violation) -> str:
    """The MedicationRequest element a reason names (e.g. ``weight.measured_at`` → supportingInformation)."""
    head = reason.field.split(".")[0].split("[")[0]
    return CPOE_EXPRESSIONS.get(reason.field) or CPOE_EXPRESSIONS.get(head) or "MedicationRequest"


def input_error_outcome(error: FieldInputError) -> dict[str, Any]:
    """One error issue per violation; ``expression`` is the field path the domain or translator named."""
    code = _issue_code(error)
    issues = [_issue("error", code, violation.message, violation.field) for violation in error.violations]
    return validate_resource({"resourceType": "OperationOutcome", "issue": issues})


def _issue_code(error: FieldInputError) -> str:
    if isinstance(error, IllegalTransitionError):
        return "conflict"
    if isinstance(error, (EligibilityRefusedError, StaleWeightError)):
        return "business-rule"
    return "invalid"


def _issue(severity: str, code: str, text: str, expression: str) -> dict[str, Any]:
    return {"severity": severity, "code": code, "details": {"text": text}, "expression": [expression]}
