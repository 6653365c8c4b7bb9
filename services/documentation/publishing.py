"""Wrapping focus resources in a FHIR message and putting it in the outbox on ``ketalink.documentation.events``.

References between the resources stay identifier-only (``Reference.identifier``, docs/contracts.md): the EHR's
integration engine maps those that name a resource of the same message (the Encounter and the Procedure pointing at
it, a note and its signature) to that entry, and the others to what it already holds."""
from __future__ import annotations

from sqlalchemy.engine import Connection

from shared.events.topics import DOCUMENTATION_EVENTS
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import build_message
from shared.runtime import ServiceRuntime


class EventPublisher:
    def __init__(self, runtime: ServiceRuntime):
        self._runtime = runtime

    def publish(self, conn: Connection, event_code: str, patient_id: str, focus: list[FhirJson],
                author_display: str | None = None) -> str | None:
        """Enqueue one message in the caller's transaction; returns its id (None when there is nothing to send)."""
        if not focus:
            return None
        message = build_message(event_code, self._runtime.source_endpoint, focus, author_display=author_display)
        return self._runtime.publish(conn, DOCUMENTATION_EVENTS, patient_id, message)
