"""SMART access to intakes, shared by the API and the clinician pages: which EHR patient an intake belongs to (for
the patient-in-context check of ``@requires``), and the FHIR resource type and action each intake operation stands
for (the intake's parts become these resources in the EHR when it is decided). The views reach the service layer
here too (``intake_service``)."""
from __future__ import annotations

from typing import Any

from services.intake.handlers import SERVICE_KEY, IntakeService
from services.intake.repository import IntakeNotFound
from shared.web import app_service

# What each part of an intake is in FHIR (docs/contracts.md): the TRD history and the contraindication screen are
# the screening QuestionnaireResponse, the scales are QuestionnaireResponses, the baseline readings Observations,
# consent a Consent; overrides, the decision and reopening change the eligibility RiskAssessment.
INTAKE_RECORD = "QuestionnaireResponse"
PART_RESOURCE_TYPES: dict[str, str] = {
    "trials": "QuestionnaireResponse",
    "contraindications": "QuestionnaireResponse",
    "vitals": "Observation",
    "phq9": "QuestionnaireResponse",
    "madrs": "QuestionnaireResponse",
    "cssrs": "QuestionnaireResponse",
    "consent": "Consent",
}
ELIGIBILITY = "RiskAssessment"


def intake_service() -> IntakeService:
    """The service layer bootstrap installed on the current app: how the API's and the pages' module-level views
    reach it."""
    return app_service(SERVICE_KEY, IntakeService)


def intake_patient(view_args: dict[str, Any]) -> str | None:
    """``@requires(..., patient=intake_patient)``: the patient of the intake named by the URL's ``intake_id``. An
    unknown intake has none: a patient-scoped token is then refused (403) without learning whether the intake
    exists; a user-level one gets the view's 404."""
    intake_id = view_args.get("intake_id")
    if not intake_id:
        return None
    try:
        return intake_service().get(intake_id).intake.patient_id
    except IntakeNotFound:
        return None
