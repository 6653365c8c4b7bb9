"""A suicidality alert → DetectedIssue, chosen over Flag because it carries what the prescriber needs and does:
``severity`` (the alert level: the C-SSRS risk, moderate for PHQ-9 item 9, moderate or high for MADRS item 10 and
QIDS-SR16 item 12), ``evidence`` (the rule's code, C-SSRS risk 93374-7, PHQ-9 item 9 44260-8 or the local MADRS item
10 / QIDS-SR16 item 12 code, and the score Observation by identifier), ``detail`` (what was endorsed) and,
once acknowledged, ``mitigation`` (the action taken, when and by whom). ``implicated`` names the course CarePlan.
``status`` is ``final``: the alert is a finding; whether it is handled is its mitigation."""
from __future__ import annotations

from services.orders.course.domain.suicidality import SuicidalityAlert
from services.orders.course.translators.codes import (
    ALERT_EVIDENCE_CODES,
    KIND_SCORE,
    KIND_SUICIDALITY_ALERT,
    PRESCRIBER_REVIEWED,
    SUICIDALITY_RISK,
)
from services.orders.course.translators.common import FhirJson, course_reference
from shared.fhir.datatypes import codeable_concept, identifier, instant, reference, reference_by_identifier
from shared.fhir.validate import validate_resource


def detected_issue_from_alert(alert: SuicidalityAlert, patient_id: str, course_id: str) -> FhirJson:
    resource: FhirJson = {
        "resourceType": "DetectedIssue",
        "identifier": [identifier(KIND_SUICIDALITY_ALERT, alert.alert_id)],
        "status": "final",
        "code": codeable_concept(SUICIDALITY_RISK),
        "severity": alert.level.value,
        "patient": reference("Patient", patient_id),
        "identifiedDateTime": instant(alert.raised_at),
        "implicated": [course_reference(course_id)],
        "evidence": [{
            "code": [codeable_concept(ALERT_EVIDENCE_CODES[alert.source])],
            "detail": [reference_by_identifier("Observation", KIND_SCORE, alert.measurement_id)],
        }],
        "detail": alert.detail,
    }
    if alert.acknowledged_at is not None and alert.acknowledged_by is not None:
        resource["mitigation"] = [{
            "action": codeable_concept(PRESCRIBER_REVIEWED, alert.action_taken),
            "date": instant(alert.acknowledged_at),
            "author": alert.acknowledged_by.fhir_reference(),
        }]
    return validate_resource(resource)
