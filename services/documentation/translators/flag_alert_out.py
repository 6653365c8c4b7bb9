"""Vitals alert → Flag (FHIR's resource for "watch out" notices): active while the alert is open, inactive once
an action is recorded, with the crossed thresholds as the code's text and the action closing its period. The
action is coded (``ALERT_ACTION_CODES``) in the Ketalink extension ``alert-action`` (R4 Flag has no element for
what was done); a medication given is its own MedicationAdministration (``medication_administration_rescue_out``)."""

from __future__ import annotations

from services.documentation.domain.flowsheet import VitalsAlert
from services.documentation.translators import references
from services.documentation.translators.codes import ALERT_ACTION_CODES, ALERT_ACTION_EXTENSION, VITAL_SIGN_ALERT
from shared.fhir.codes import CLINICAL_FLAG_CATEGORY
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant
from shared.fhir.validate import validate_resource


def alert_flag(session_id: str, patient_id: str, alert: VitalsAlert) -> FhirJson:
    text = "; ".join(alert.crossings)
    if alert.action:
        text += f" — action: {alert.action.describe()}"
    period: FhirJson = {"start": instant(alert.raised_at)}
    if alert.action:
        period["end"] = instant(alert.action.taken_at)
    resource: FhirJson = {
        "resourceType": "Flag",
        "identifier": [identifier(references.ALERT_KIND, references.child_value(session_id, alert.alert_id))],
        "status": "active" if alert.is_open else "inactive",
        "category": [codeable_concept(CLINICAL_FLAG_CATEGORY)],
        "code": codeable_concept(VITAL_SIGN_ALERT, text),
        "subject": references.patient(patient_id),
        "period": period,
        "encounter": references.encounter(session_id),
    }
    if alert.action:
        resource["extension"] = [{"url": ALERT_ACTION_EXTENSION, "valueCodeableConcept": codeable_concept(
            ALERT_ACTION_CODES[alert.action.kind], alert.action.describe())}]
    return validate_resource(resource)
