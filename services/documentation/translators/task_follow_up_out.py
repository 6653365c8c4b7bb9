"""The next-day follow-up call → FHIR Task: ``status`` requested at discharge, completed with the outcome in
``output`` (coded, ``FOLLOW_UP_OUTCOME_CODES``, the note as text); ``owner`` the clinician who discharged (by
display, as every person in these messages), due on the next clinic day (``restriction.period.end``), ``for`` the
patient and ``encounter`` the visit (by its Ketalink identifier). Identifier ``follow-up-call`` = the session id."""

from __future__ import annotations

from services.documentation.domain.errors import DocumentationInputError
from services.documentation.domain.follow_up import FollowUpStatus
from services.documentation.domain.session import Session
from services.documentation.translators import references
from services.documentation.translators.codes import FOLLOW_UP_CALL, FOLLOW_UP_OUTCOME_CODES, FOLLOW_UP_OUTCOME_TYPE
from shared.fhir.datatypes import FhirJson, codeable_concept, fhir_date, identifier, instant
from shared.fhir.validate import validate_resource


def follow_up_task(session: Session) -> FhirJson:
    record = session.discharge_record
    call = record.follow_up if record else None
    if call is None:
        raise DocumentationInputError("follow_up", f"session {session.session_id} has no follow-up call")
    resource: FhirJson = {
        "resourceType": "Task",
        "identifier": [identifier(references.FOLLOW_UP_KIND, session.session_id)],
        "status": call.status.value,
        "intent": "order",
        "code": codeable_concept(FOLLOW_UP_CALL),
        "description": "Call the patient the next clinic day: how the night went, emergence symptoms, whether the "
                       "discharge instructions were kept",
        "for": references.patient(session.patient_id),
        "encounter": references.encounter(session.session_id),
        "authoredOn": instant(call.requested_at),
        "lastModified": instant(call.completed_at or call.requested_at),
        "requester": references.person(record.discharged_by),  # type: ignore[union-attr]
        "owner": references.person(call.owner),
        "restriction": {"period": {"end": fhir_date(call.due_on)}},
    }
    if call.status is FollowUpStatus.COMPLETED and call.outcome is not None:
        resource["executionPeriod"] = {"end": instant(call.completed_at)}  # type: ignore[arg-type]
        resource["output"] = [{"type": codeable_concept(FOLLOW_UP_OUTCOME_TYPE),
                               "valueCodeableConcept": codeable_concept(FOLLOW_UP_OUTCOME_CODES[call.outcome],
                                                                        call.outcome_note or None)}]
        resource["note"] = [{"text": f"Called by {call.completed_by}"}]
    return validate_resource(resource)
