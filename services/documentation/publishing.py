"""Wrapping focus resources in a FHIR message and putting it in the outbox on ``ketalink.documentation.events``.

References between resources of the same message also get the entry's ``fullUrl`` (``urn:uuid:``), the identifier
staying: the contract resolves ``Reference.identifier`` against resources sent in an *earlier* message, and a
receiver that looks identifiers up in its store cannot find one before the transaction that creates it (the
Encounter and the Procedure pointing at it, a note and its signature). A FHIR transaction resolves ``urn:uuid``
references itself."""
from __future__ import annotations

from typing import Any

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
        return self._runtime.publish(conn, DOCUMENTATION_EVENTS, patient_id, link_references_within_message(message))


def link_references_within_message(message: FhirJson) -> FhirJson:
    """Point identifier-only references at the entry of the same message that carries that identifier."""
    entries = message["entry"][1:]
    by_identifier: dict[tuple[str, str, str], str] = {}
    for entry in entries:
        resource = entry["resource"]
        identifiers = resource.get("identifier") or []
        for ident in identifiers if isinstance(identifiers, list) else [identifiers]:
            key = (resource["resourceType"], ident.get("system", ""), ident.get("value", ""))
            by_identifier[key] = entry["fullUrl"]
    for entry in entries:
        _link(entry["resource"], by_identifier)
    return message


def _link(node: Any, by_identifier: dict[tuple[str, str, str], str]) -> None:
    if isinstance(node, dict):
        ident = node.get("identifier")
        if "reference" not in node and isinstance(node.get("type"), str) and isinstance(ident, dict):
            full_url = by_identifier.get((node["type"], ident.get("system", ""), ident.get("value", "")))
            if full_url:
                node["reference"] = full_url
        for value in node.values():
            _link(value, by_identifier)
    elif isinstance(node, list):
        for item in node:
            _link(item, by_identifier)
