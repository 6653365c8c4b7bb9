"""Session → Procedure (the infusion). ``basedOn`` names the series CarePlan (R4 Procedure.basedOn allows
CarePlan/ServiceRequest, not MedicationRequest; the MedicationAdministration carries the order). Adverse events
appear as ``complication`` concepts so a reader of the Procedure alone sees them."""

from __future__ import annotations

from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.translators import references
from services.documentation.translators.codes import ADVERSE_EVENT_KIND_CODES
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import FhirJson, codeable_concept, identifier, instant, reference_by_identifier
from shared.fhir.validate import validate_resource


def procedure_status(session: Session) -> str:
    started = session.infusion_started_at is not None
    if session.status is SessionStatus.INFUSING:
        return "in-progress"
    if session.status in (SessionStatus.RECOVERING, SessionStatus.DISCHARGED):
        return "completed"
    if session.status is SessionStatus.ABORTED:
        return "stopped" if started else "not-done"
    if session.status in (SessionStatus.DEFERRED, SessionStatus.CANCELLED):
        return "not-done"
    return "preparation"


def procedure_from_session(session: Session, order: ActiveOrder) -> FhirJson:
    status = procedure_status(session)
    resource: FhirJson = {
        "resourceType": "Procedure",
        "identifier": [identifier(references.INFUSION_KIND, session.session_id)],
        "basedOn": [reference_by_identifier("CarePlan", references.SERIES_KIND, session.series_id)],
        "status": status,
        "code": codeable_concept(KETAMINE_INFUSION_PROCEDURE),
        "subject": references.patient(session.patient_id),
        "encounter": references.encounter(session.session_id),
    }
    if status in ("stopped", "not-done") and session.end_reason:
        resource["statusReason"] = {"text": session.end_reason}
    start = session.transition_to(SessionStatus.INFUSING)
    if start:
        resource["performedPeriod"] = {"start": instant(start.at)}
        if session.infusion_ended_at:
            resource["performedPeriod"]["end"] = instant(session.infusion_ended_at)
        resource["performer"] = [{"actor": references.person(start.by)}]
    if order.indication:
        resource["reasonCode"] = [{"text": order.indication}]
    if session.adverse_events:
        resource["complication"] = [
            codeable_concept(ADVERSE_EVENT_KIND_CODES[event.kind], event.label()) for event in session.adverse_events
        ]
    return validate_resource(resource)
