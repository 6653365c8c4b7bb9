"""What the documentation service publishes on ``ketalink.documentation.events`` (docs/contracts.md): which FHIR
messages one change of a session produces, and the publisher that wraps focus resources in a FHIR message and puts
it in the outbox.

Decided by comparing the session before and after the change, so the HTTP steps and the Kafka handlers share one
rule: check-in and the infusion start announce the visit (``session-started``: Encounter, then the Procedure too);
each new reading, at the pre-infusion check or on the flowsheet, is ``vitals-recorded``; each new alert
``alert-raised``; a session that ends, and any documentation added to it afterwards (e.g. the administration
record after an abort), is ``session-completed`` with everything. A session cancelled before it began was never in
the EHR and sends nothing.

References between the resources stay identifier-only (``Reference.identifier``, docs/contracts.md): the EHR's
integration engine maps those that name a resource of the same message (the Encounter and the Procedure pointing at
it, a note and its signature) to that entry, and the others to what it already holds."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from services.documentation.domain.order import ActiveOrder
from services.documentation.domain.session import ENDED_STATUSES, Session, SessionStatus
from services.documentation.translators import message_out
from shared.ehr_delivery import track
from shared.events import event_codes
from shared.events.topics import DOCUMENTATION_EVENTS
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message
from shared.people import Person
from shared.runtime import ServiceRuntime

_ANNOUNCED_ON_ENTRY = (SessionStatus.CHECKED_IN, SessionStatus.INFUSING)


@dataclass(frozen=True)
class OutgoingEvent:
    event_code: str
    focus: list[FhirJson]
    author: Person | None = None


def events_for_change(before: Session, after: Session, order: ActiveOrder) -> list[OutgoingEvent]:
    events: list[OutgoingEvent] = []
    entered = after.status if after.status is not before.status else None
    if entered in _ANNOUNCED_ON_ENTRY:
        events.append(OutgoingEvent(event_codes.SESSION_STARTED, message_out.session_started_focus(after, order),
                                    after.transitions[-1].by))
    for attempt in after.pre_checks[len(before.pre_checks):]:
        events.append(OutgoingEvent(event_codes.VITALS_RECORDED,
                                    message_out.pre_check_vitals_focus(after, attempt.reading.reading_id),
                                    attempt.checked_by))
    known_readings = {reading.reading_id for reading in before.readings}
    for reading in after.readings:
        if reading.reading_id not in known_readings:
            events.append(OutgoingEvent(event_codes.VITALS_RECORDED,
                                        message_out.vitals_recorded_focus(after, reading.reading_id),
                                        reading.recorded_by))
    known_alerts = {alert.alert_id for alert in before.alerts}
    for alert in after.alerts:
        if alert.alert_id not in known_alerts:
            events.append(OutgoingEvent(event_codes.ALERT_RAISED,
                                        message_out.alert_raised_focus(after, alert.alert_id)))
    if after.status in ENDED_STATUSES and after.status is not SessionStatus.CANCELLED and after != before:
        last = after.transitions[-1] if after.transitions else None
        events.append(OutgoingEvent(event_codes.SESSION_COMPLETED, message_out.session_completed_focus(after, order),
                                    last.by if last else None))
    return [event for event in events if event.focus]


SESSION_KIND = "session"  # the record kinds a message belongs to, in ehr_deliveries (shared/ehr_delivery)
NOTE_KIND = "note"


class EventPublisher:
    def __init__(self, runtime: ServiceRuntime):
        self._runtime = runtime

    def publish(self, conn: Connection, event_code: str, patient_id: str, focus: list[FhirJson],
                author: Person | None = None, *, subject: tuple[str, str]) -> str | None:
        """Enqueue one message in the caller's transaction and track it for the EHR's answer under ``subject``
        (record kind and id: the session or the note it belongs to); returns its id (None when there is nothing
        to send)."""
        if not focus:
            return None
        message = build_message(event_code, self._runtime.source_endpoint, focus, author=author)
        message_id = self._runtime.publish(conn, DOCUMENTATION_EVENTS, patient_id, message)
        track(conn, message_id, event_code, subject[0], subject[1], patient_id)
        return message_id
