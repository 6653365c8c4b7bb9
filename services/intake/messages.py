"""The ``intake-eligibility-decided`` message (docs/contracts.md) for a decided intake, and ``intake-reopened`` for a
reopened one (its decision withdrawn).

References between its resources stay identifier-only (``Reference.identifier``): the EHR's integration engine
resolves those that name a resource of the same message to its entry, and the others to what it already holds.
"""
from __future__ import annotations

from services.intake.domain.model import Intake
from services.intake.translators.message_out import intake_decision_resources
from services.intake.translators.risk_assessment_out import withdrawn_risk_assessment
from shared.events.event_codes import INTAKE_ELIGIBILITY_DECIDED, INTAKE_REOPENED
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message


def decision_message(intake: Intake, source_endpoint: str) -> FhirJson:
    """The message Bundle for ``intake``'s decision; its Provenance author is the clinician who decided."""
    resources = intake_decision_resources(intake, intake.patient_id)
    author = intake.decision.decided_by if intake.decision else None
    return build_message(INTAKE_ELIGIBILITY_DECIDED, source_endpoint, resources, author=author)


def reopened_message(intake: Intake, source_endpoint: str) -> FhirJson:
    """The message Bundle saying ``intake``'s decision is withdrawn (it was reopened): orders stops ordering and
    signing on it, the EHR's RiskAssessment becomes ``cancelled``. Its Provenance author is who reopened it."""
    author = intake.reopenings[-1].reopened_by if intake.reopenings else None
    return build_message(INTAKE_REOPENED, source_endpoint, [withdrawn_risk_assessment(intake, intake.patient_id)],
                         author=author)
