"""Session → Encounter (the clinic visit). Status follows the session; a session deferred before check-in is a
cancelled visit, any other ended session a finished one (the patient was seen)."""

from __future__ import annotations

from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import Session, SessionStatus
from services.documentation.translators import references
from services.documentation.translators.codes import ENCOUNTER_CLASS_AMBULATORY
from shared.fhir.codes import KETAMINE_INFUSION_PROCEDURE
from shared.fhir.datatypes import FhirJson, codeable_concept, coding, identifier, instant
from shared.fhir.validate import validate_resource

_STATUS = {
    SessionStatus.SCHEDULED: "planned",
    SessionStatus.CHECKED_IN: "arrived",
    SessionStatus.PRE_CHECK: "triaged",
    SessionStatus.INFUSING: "in-progress",
    SessionStatus.RECOVERING: "in-progress",
    SessionStatus.DISCHARGED: "finished",
    SessionStatus.ABORTED: "finished",
    SessionStatus.CANCELLED: "cancelled",
}


def encounter_status(session: Session) -> str:
    if session.status is SessionStatus.DEFERRED:
        return "finished" if session.checked_in_at else "cancelled"
    return _STATUS[session.status]


def encounter_from_session(session: Session, order: ActiveOrder) -> FhirJson:
    resource: FhirJson = {
        "resourceType": "Encounter",
        "identifier": [identifier(references.SESSION_KIND, session.session_id)],
        "status": encounter_status(session),
        "class": coding(ENCOUNTER_CLASS_AMBULATORY),
        "type": [codeable_concept(KETAMINE_INFUSION_PROCEDURE)],
        "subject": references.patient(session.patient_id),
    }
    if session.checked_in_at:
        resource["period"] = {"start": instant(session.checked_in_at)}
        if session.ended_at:
            resource["period"]["end"] = instant(session.ended_at)
    if order.indication:
        resource["reasonCode"] = [{"text": order.indication}]
    return validate_resource(resource)
