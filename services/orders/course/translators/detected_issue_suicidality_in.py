"""DetectedIssue (as ``detected_issue_suicidality_out`` writes it) → the suicidality alert with its course; a
mitigation coded prescriber-reviewed is the acknowledgement."""
from __future__ import annotations

from dataclasses import dataclass, replace

from services.orders.course.domain.suicidality import AlertLevel, SuicidalityAlert
from services.orders.course.translators.codes import (
    ALERT_EVIDENCE_CODES,
    KIND_COURSE,
    KIND_SCORE,
    KIND_SUICIDALITY_ALERT,
    PRESCRIBER_REVIEWED,
    SUICIDALITY_RISK,
)
from services.orders.course.translators.common import FhirJson, enum_value, required_coded
from shared.errors import FhirMappingError
from shared.fhir.reading import moment, patient_id_of, referenced_identifier, validated
from shared.fhir.datatypes import find_identifier, has_coding
from shared.people import Person


@dataclass(frozen=True)
class ReceivedAlert:
    patient_id: str
    course_id: str | None
    alert: SuicidalityAlert


def alert_from_detected_issue(resource: FhirJson) -> ReceivedAlert:
    resource = validated(resource, "DetectedIssue")
    alert_id = find_identifier(resource, KIND_SUICIDALITY_ALERT)
    if not alert_id:
        raise FhirMappingError("DetectedIssue.identifier", "the Ketalink alert identifier is missing")
    if not has_coding(resource.get("code"), SUICIDALITY_RISK):
        raise FhirMappingError("DetectedIssue.code", f"expected {SUICIDALITY_RISK.code}")
    evidence = (resource.get("evidence") or [{}])[0]
    source = required_coded((evidence.get("code") or [{}])[0], ALERT_EVIDENCE_CODES, "DetectedIssue.evidence[0].code")
    measurement_id = referenced_identifier(evidence.get("detail"), KIND_SCORE)
    if not measurement_id:
        raise FhirMappingError("DetectedIssue.evidence[0].detail", "the score Observation is required")
    if not resource.get("detail"):
        raise FhirMappingError("DetectedIssue.detail", "what was endorsed is required")
    alert = SuicidalityAlert(
        alert_id=alert_id, measurement_id=measurement_id, source=source,
        level=enum_value(AlertLevel, resource.get("severity"), "DetectedIssue.severity"),
        raised_at=moment(resource.get("identifiedDateTime"), "DetectedIssue.identifiedDateTime"),
        detail=resource["detail"],
    )
    review = next((m for m in resource.get("mitigation") or [] if has_coding(m.get("action"), PRESCRIBER_REVIEWED)),
                  None)
    if review is not None:
        by = Person.from_fhir(review.get("author"))
        action = (review.get("action") or {}).get("text")
        if not by or not action:
            raise FhirMappingError("DetectedIssue.mitigation[0]", "an acknowledgement needs its author (display) and "
                                                                  "the action taken (action.text)")
        alert = replace(alert, acknowledged_at=moment(review.get("date"), "DetectedIssue.mitigation[0].date"),
                        acknowledged_by=by, action_taken=action)
    return ReceivedAlert(patient_id_of(resource.get("patient"), "DetectedIssue.patient"),
                         referenced_identifier(resource.get("implicated"), KIND_COURSE), alert)
