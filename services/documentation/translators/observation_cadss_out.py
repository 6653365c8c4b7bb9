"""CADSS rating → survey Observation: the total under the local CADSS (23-item) or CADSS-6 code, each item as a
component with its local item code, and the timepoint in ``note``. No LOINC code exists for CADSS."""

from __future__ import annotations

from services.documentation.domain.cadss import CadssAssessment, CadssForm
from services.documentation.translators import references
from services.documentation.translators.codes import cadss_item
from shared.fhir.codes import CADSS6_TOTAL, CADSS_TOTAL, SURVEY_CATEGORY
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant, quantity
from shared.fhir.validate import validate_resource


def cadss_observation(session_id: str, patient_id: str, assessment: CadssAssessment) -> FhirJson:
    total_code = CADSS_TOTAL if assessment.form is CadssForm.FULL else CADSS6_TOTAL
    resource: FhirJson = {
        "resourceType": "Observation",
        "identifier": [identifier(references.CADSS_KIND, references.child_value(session_id, assessment.assessment_id))],
        "status": "final",
        "category": [codeable_concept(SURVEY_CATEGORY)],
        "code": codeable_concept(total_code),
        "subject": references.patient(patient_id),
        "encounter": references.encounter(session_id),
        "effectiveDateTime": instant(assessment.assessed_at),
        "performer": [references.person(assessment.assessed_by)],
        "valueQuantity": quantity(assessment.total, total_code.unit or ""),
        "note": [{"text": f"Timepoint: {assessment.timepoint_text()}"}],
        "component": [
            {"code": codeable_concept(cadss_item(number)), "valueInteger": score}
            for number, score in assessment.item_scores_by_number.items()
        ],
    }
    return validate_resource(resource)
