"""The treatment course's suicidality alert (a DetectedIssue in ``suicidality-alert`` and
``suicidality-alert-acknowledged`` on ketalink.orders.events) → what documentation needs to hold an infusion: the
alert's id, patient, level, when it was raised, what was endorsed, and whether the prescriber has acknowledged it
(a mitigation coded prescriber-reviewed). The course's other fields (evidence, implicated CarePlan) are not needed
here."""
from __future__ import annotations

from datetime import datetime

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.suicide_risk import AlertLevel, SuicidalityAlertSeen
from services.documentation.translators.codes import KIND_SUICIDALITY_ALERT, PRESCRIBER_REVIEWED, SUICIDALITY_RISK
from shared.errors import FhirMappingError
from shared.fhir.datatypes import FhirJson, find_identifier, has_coding, reference_id
from shared.fhir.validate import validate_resource
from shared.records import RecordError, parse_aware_datetime


def alert_from_detected_issue(resource: FhirJson) -> SuicidalityAlertSeen:
    validate_resource(resource)
    if resource.get("resourceType") != "DetectedIssue":
        raise FhirMappingError("DetectedIssue", f"expected a DetectedIssue, got {resource.get('resourceType')}")
    alert_id = find_identifier(resource, KIND_SUICIDALITY_ALERT)
    if not alert_id:
        raise FhirMappingError("DetectedIssue.identifier", "the Ketalink alert identifier is missing")
    if not has_coding(resource.get("code"), SUICIDALITY_RISK):
        raise FhirMappingError("DetectedIssue.code", f"expected {SUICIDALITY_RISK.code}")
    patient_id = reference_id(resource.get("patient"), "Patient")
    if not patient_id:
        raise FhirMappingError("DetectedIssue.patient", "expected a literal Patient reference")
    try:
        level = AlertLevel(resource.get("severity"))
    except ValueError:
        raise FhirMappingError("DetectedIssue.severity", f"expected low, moderate or high, got "
                                                         f"{resource.get('severity')!r}") from None
    raised_at = _moment(resource.get("identifiedDateTime"), "DetectedIssue.identifiedDateTime")
    review = next((m for m in resource.get("mitigation") or [] if has_coding(m.get("action"), PRESCRIBER_REVIEWED)),
                  None)
    acknowledged_at = None
    if review is not None:
        acknowledged_at = _moment(review.get("date"), "DetectedIssue.mitigation.date")
    try:
        return SuicidalityAlertSeen(alert_id=alert_id, patient_id=patient_id, level=level, raised_at=raised_at,
                                    detail=str(resource.get("detail") or "no detail given"),
                                    acknowledged_at=acknowledged_at)
    except DocumentationInputError as error:
        raise FhirMappingError(f"DetectedIssue ({error.field})", error.message) from None


def _moment(text: object, where: str) -> datetime:
    if not isinstance(text, str) or len(text) <= len("YYYY-MM-DD"):
        raise FhirMappingError(where, "a date and time is required")
    try:
        return parse_aware_datetime(text, where)
    except RecordError as error:
        raise FhirMappingError(error.path, error.message) from None
