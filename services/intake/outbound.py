"""The ``intake-eligibility-decided`` message (docs/contracts.md) for a decided intake.

References between its resources stay identifier-only (``Reference.identifier``): the EHR's integration engine
resolves those that name a resource of the same message to its entry, and the others to what it already holds.
"""
from __future__ import annotations

from services.intake.domain.model import Intake
from services.intake.translators.message_out import intake_decision_resources
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message

INTAKE_ELIGIBILITY_DECIDED = "intake-eligibility-decided"


def decision_message(intake: Intake, source_endpoint: str) -> FhirJson:
    """The message Bundle for ``intake``'s decision; its Provenance author is the clinician who decided."""
    resources = intake_decision_resources(intake, intake.patient_id)
    author = intake.decision.decided_by if intake.decision else None
    return build_message(INTAKE_ELIGIBILITY_DECIDED, source_endpoint, resources, author_display=author)
