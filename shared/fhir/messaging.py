"""FHIR R4 messages (``Bundle.type = message``): build the ones Ketalink sends, parse and check the ones it gets.

Why here: every service and the EHR's integration engine speak the same envelope; keeping it in one module keeps
the MessageHeader rules (header first, focus, response codes, deduplication by message id) in one place.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from shared.fhir.codes import MESSAGE_EVENTS
from shared.fhir.datatypes import FhirJson, instant
from shared.fhir.validate import FhirValidationError, remember_entries, validate_bundle, validate_resource
from shared.people import KETALINK_DEVICE_URL, Person, ketalink, ketalink_device

PROVENANCE_NAMESPACE = uuid.UUID("6f1c1d7e-3f5b-4c55-9a0e-6b1f4e1d2c3a")


class ResponseCode(str, Enum):
    """``MessageHeader.response.code``: what the sender must do next."""

    OK = "ok"
    TRANSIENT_ERROR = "transient-error"  # retry later
    FATAL_ERROR = "fatal-error"  # do not resend; the reason is in the OperationOutcome


class MessageError(ValueError):
    """An inbound message that can never be processed (goes to the dead-letter topic with this reason)."""


@dataclass(frozen=True)
class Message:
    """A parsed FHIR message: its header facts and the resources after the header, in order."""

    message_id: str
    event_code: str
    source_endpoint: str
    timestamp: str
    resources: list[FhirJson]
    bundle: FhirJson
    response_to: str | None = None
    response_code: ResponseCode | None = None
    focus_references: list[str] = field(default_factory=list)

    def first(self, resource_type: str) -> FhirJson | None:
        return next((r for r in self.resources if r.get("resourceType") == resource_type), None)

    def all(self, resource_type: str) -> list[FhirJson]:
        return [r for r in self.resources if r.get("resourceType") == resource_type]


def build_message(
    event_code: str,
    source_endpoint: str,
    focus: list[FhirJson],
    *,
    message_id: str | None = None,
    author: Person | None = None,
    author_display: str | None = None,
    now: datetime | None = None,
    with_provenance: bool = True,
) -> FhirJson:
    """A message Bundle with the header first, the focus resources, and a Provenance for them.

    Each focus resource gets a ``urn:uuid:`` fullUrl; references between them may use those. The Provenance has a
    deterministic id derived from the message id, so the EHR writes it once however often the message arrives.
    Its agents are ``author`` (the clinician, by reference: ``shared.people``) and Ketalink, the Device that
    assembled the message; the Device travels in the message (not in ``focus``) whenever something refers to it.
    ``author_display`` (a name only) is for callers that know no reference.
    """
    message_id = message_id or str(uuid.uuid4())
    now = now or datetime.now(timezone.utc)
    full_urls = [f"urn:uuid:{uuid.uuid4()}" for _ in focus]
    header: FhirJson = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": {"system": MESSAGE_EVENTS, "code": event_code},
        "source": {"name": "Ketalink", "endpoint": source_endpoint},
        "focus": [{"reference": url} for url in full_urls],
    }
    entries = [{"fullUrl": f"urn:uuid:{message_id}", "resource": header}]
    entries += [{"fullUrl": url, "resource": resource} for url, resource in zip(full_urls, focus)]
    provenance = _provenance(message_id, full_urls, source_endpoint, author, author_display, now) \
        if with_provenance and focus else None
    if provenance is not None or any(KETALINK_DEVICE_URL in json.dumps(resource) for resource in focus):
        entries.append({"fullUrl": KETALINK_DEVICE_URL, "resource": ketalink_device()})
    if provenance is not None:  # last, as receivers expect
        entries.append({"fullUrl": f"urn:uuid:{provenance['id']}", "resource": provenance})
    bundle: FhirJson = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "message",
        "timestamp": instant(now),
        "entry": entries,
    }
    return validate_bundle(bundle)


def build_response(
    request: Message,
    code: ResponseCode,
    source_endpoint: str,
    outcome: FhirJson | None = None,
    *,
    event_code: str | None = None,
    now: datetime | None = None,
) -> FhirJson:
    """The response message to ``request`` (``response.identifier`` = the request's MessageHeader id)."""
    now = now or datetime.now(timezone.utc)
    message_id = str(uuid.uuid4())
    header: FhirJson = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": {"system": MESSAGE_EVENTS, "code": event_code or request.event_code},
        "source": {"name": "Ketalink", "endpoint": source_endpoint},
        "destination": [{"endpoint": request.source_endpoint}],
        "response": {"identifier": request.message_id, "code": code.value},
    }
    entries = [{"fullUrl": f"urn:uuid:{message_id}", "resource": header}]
    if outcome is not None:
        outcome_url = f"urn:uuid:{uuid.uuid4()}"
        header["response"]["details"] = {"reference": outcome_url}
        entries.append({"fullUrl": outcome_url, "resource": outcome})
    return validate_bundle(
        {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "message", "timestamp": instant(now),
         "entry": entries}
    )


def parse_message(payload: Any) -> Message:
    """Check and unpack an inbound message; raise MessageError naming what is wrong (never anything else)."""
    if not isinstance(payload, dict):
        raise MessageError("payload is not a JSON object")
    if payload.get("resourceType") != "Bundle" or payload.get("type") != "message":
        raise MessageError("payload is not a FHIR Bundle of type message")
    try:  # a JSON null is refused here too, named (the models alone would read it as absent)
        validate_resource(payload, remember=False)  # a message arrives once: its envelope is not looked up again
    except FhirValidationError as error:
        raise MessageError(f"invalid FHIR message: {error}") from None
    remember_entries(payload)  # a handler's translator validating one of them again finds it passed
    entries = payload.get("entry") or []
    resources = [e.get("resource") for e in entries]
    if not resources or not isinstance(resources[0], dict) or resources[0].get("resourceType") != "MessageHeader":
        raise MessageError("the first entry of a message must be a MessageHeader")
    header = resources[0]
    event = header.get("eventCoding") or {}
    if not header.get("id"):
        raise MessageError("MessageHeader.id (the message id) is missing")
    if not event.get("code"):
        raise MessageError("MessageHeader.eventCoding.code is missing")
    response = header.get("response") or {}
    try:
        response_code = ResponseCode(response["code"]) if response.get("code") else None
    except ValueError:
        raise MessageError("MessageHeader.response.code must be ok, transient-error or fatal-error") from None
    return Message(
        message_id=header["id"],
        event_code=event["code"],
        source_endpoint=(header.get("source") or {}).get("endpoint") or "",
        timestamp=payload.get("timestamp") or "",
        resources=[r for r in resources[1:] if isinstance(r, dict)],
        bundle=payload,
        response_to=response.get("identifier"),
        response_code=response_code,
        # JSON null passes the model as "absent": read it so.
        focus_references=[f.get("reference") or "" for f in header.get("focus") or []],
    )


def _provenance(
    message_id: str, target_urls: list[str], source_endpoint: str, author: Person | None, author_display: str | None,
    now: datetime
) -> FhirJson:
    agents = [{
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                             "code": "assembler"}]},
        "who": ketalink(f"Ketalink ({source_endpoint})"[:200]).fhir_reference(),
    }]
    who = author.fhir_reference() if author is not None else {"display": author_display} if author_display else None
    if who is not None:
        agents.insert(0, {
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                 "code": "author"}]},
            "who": who,
        })
    return {
        "resourceType": "Provenance",
        "id": str(uuid.uuid5(PROVENANCE_NAMESPACE, message_id)),
        "target": [{"reference": url} for url in target_urls],
        "recorded": instant(now),
        "agent": agents,
        "entity": [{"role": "source", "what": {"identifier": {"system": "urn:ietf:rfc:3986",
                                                              "value": f"urn:uuid:{message_id}"}}}],
    }
