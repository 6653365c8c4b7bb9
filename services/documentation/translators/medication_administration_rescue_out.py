"""A rescue medication given for an alert → its own MedicationAdministration (issue 13, "rescue actions coded"):
the medication by code when the clinic gave one (``medicationCodeableConcept`` with the name as text), the dose and
route, when (the action's time) and who (the clinician who recorded the action), the encounter, the alert's
crossings as ``reasonCode`` text and its Flag in ``supportingInformation`` (by its Ketalink identifier; R4 allows
no Flag in ``reasonReference``). Identifier ``rescue-administration``
``{session}/{alert}``: one per alert action, so a re-sent session-completed updates instead of duplicating."""

from __future__ import annotations

from services.documentation.domain.flowsheet import VitalsAlert
from services.documentation.domain.errors import DocumentationInputError
from services.documentation.translators import references
from services.documentation.translators.codes import RESCUE_ROUTE_CODES
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant, quantity, reference_by_identifier
from shared.fhir.validate import validate_resource


def rescue_administration(session_id: str, patient_id: str, alert: VitalsAlert) -> FhirJson:
    action = alert.action
    if action is None or action.rescue is None:
        raise DocumentationInputError("action.rescue", f"alert {alert.alert_id} has no medication given")
    rescue = action.rescue
    medication: FhirJson = {"text": rescue.name}
    if rescue.code:
        medication["coding"] = [{"system": rescue.code_system, "code": rescue.code, "display": rescue.name}]
    resource: FhirJson = {
        "resourceType": "MedicationAdministration",
        "identifier": [identifier(references.RESCUE_ADMINISTRATION_KIND,
                                  references.child_value(session_id, alert.alert_id))],
        "status": "completed",
        "medicationCodeableConcept": medication,
        "subject": references.patient(patient_id),
        "context": references.encounter(session_id),
        "effectiveDateTime": instant(action.taken_at),
        "performer": [{"actor": references.person(action.taken_by)}],
        "reasonCode": [{"text": "; ".join(alert.crossings)}],
        "supportingInformation": [reference_by_identifier(
            "Flag", references.ALERT_KIND, references.child_value(session_id, alert.alert_id))],
        "dosage": {
            "text": rescue.describe(),
            "route": codeable_concept(RESCUE_ROUTE_CODES[rescue.route]),
            "dose": quantity(rescue.dose_value, rescue.dose_unit.value),
        },
    }
    if action.detail.strip():
        resource["note"] = [{"text": action.detail.strip()}]
    return validate_resource(resource)
