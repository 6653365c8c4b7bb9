"""The hospital's integration engine, as the sandbox plays it: applies the FHIR messages the services publish to
the FHIR store and answers each with a response message.

Each message becomes one atomic FHIR transaction: a conditional update on the resource's Ketalink identifier
(create if absent, update if present, never a second copy) and a PUT of the Provenance by its deterministic id.
References by identifier are resolved to the EHR's literal ids first; one that does not resolve yet is a transient
error (the message it comes from may still be on its way). A message the store refuses gets a fatal-error response
with the store's OperationOutcome; a store that is down gets nothing yet: the message is retried.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.engine import Connection

from shared.events.consumer import PermanentError, TransientError
from shared.events.topics import EHR_RESPONSES
from shared.fhir.client import FhirClient, FhirError, FhirInvalid, FhirPreconditionFailed, FhirUnavailable
from shared.fhir.codes import IDENTIFIER_BASE
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import Message, ResponseCode, build_response
from shared.runtime import ServiceRuntime
from shared.web import operation_outcome

log = logging.getLogger(__name__)


class IntegrationEngine:
    def __init__(self, runtime: ServiceRuntime, fhir: FhirClient):
        self._runtime = runtime
        self._fhir = fhir

    def handle(self, message: Message, conn: Connection) -> None:
        if message.response_to is not None:
            return  # a response to one of our own messages; nothing to apply
        patient_key = _patient_key(message)
        try:
            transaction = build_transaction(message, self._resolve_identifier)
            self._fhir.transaction(transaction)
            response = build_response(message, ResponseCode.OK, self._runtime.source_endpoint)
        except (FhirUnavailable, ConnectionError) as error:
            raise TransientError(f"EHR store unavailable: {error}") from None
        except (FhirInvalid, FhirPreconditionFailed, PermanentError) as error:
            issues = [("", text) for text in getattr(error, "issues", [])] or [("", str(error))]
            outcome = (getattr(error, "outcome", None) or operation_outcome(issues, code="processing"))
            response = build_response(message, ResponseCode.FATAL_ERROR, self._runtime.source_endpoint,
                                      _clean_outcome(outcome))
            log.warning("message refused by the EHR store", extra={"message_id": message.message_id,
                                                                   "event_code": message.event_code})
        except FhirError as error:
            raise TransientError(f"EHR store error {error.status}") from None
        self._runtime.publish(conn, EHR_RESPONSES, patient_key, response)

    def _resolve_identifier(self, resource_type: str, system: str, value: str) -> str:
        try:
            found = self._fhir.search(resource_type, {"identifier": f"{system}|{value}", "_count": 2})
        except FhirUnavailable as error:
            raise TransientError(str(error)) from None
        if len(found) == 1:
            return f"{resource_type}/{found[0]['id']}"
        if not found:
            raise TransientError(f"{resource_type} with identifier {system}|… not found yet")
        raise PermanentError(f"several {resource_type} resources carry the identifier {system}|…")


def build_transaction(message: Message, resolve: Any) -> FhirJson:
    """The transaction bundle that applies ``message``'s resources (pure apart from ``resolve``)."""
    entries = []
    for entry in message.bundle["entry"][1:]:
        resource = json.loads(json.dumps(entry["resource"]))
        _resolve_references(resource, resolve)
        resource_type = resource["resourceType"]
        if resource_type == "Provenance":
            request = {"method": "PUT", "url": f"Provenance/{resource['id']}"}
        else:
            ketalink_identifier = next((i for i in resource.get("identifier", [])
                                        if str(i.get("system", "")).startswith(IDENTIFIER_BASE)), None)
            if ketalink_identifier is None:
                raise PermanentError(f"{resource_type} has no Ketalink identifier, so it cannot be applied once only")
            resource.pop("id", None)
            request = {"method": "PUT", "url": f"{resource_type}?identifier="
                                              f"{ketalink_identifier['system']}|{ketalink_identifier['value']}"}
        entries.append({"fullUrl": entry["fullUrl"], "resource": resource, "request": request})
    if not entries:
        raise PermanentError("the message has no resources to apply")
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _resolve_references(node: Any, resolve: Any) -> None:
    """Give every identifier-only Reference (``{type, identifier}``) its literal ``reference``."""
    if isinstance(node, dict):
        if ("identifier" in node and "reference" not in node and isinstance(node.get("type"), str)
                and isinstance(node["identifier"], dict) and "system" in node["identifier"]):
            node["reference"] = resolve(node["type"], node["identifier"]["system"], node["identifier"]["value"])
        for value in node.values():
            _resolve_references(value, resolve)
    elif isinstance(node, list):
        for item in node:
            _resolve_references(item, resolve)


def _patient_key(message: Message) -> str:
    for resource in message.resources:
        subject = resource.get("subject") or resource.get("patient") or {}
        reference = subject.get("reference", "") if isinstance(subject, dict) else ""
        if reference.startswith("Patient/"):
            return reference.split("/", 1)[1]
    return "unknown"


def _clean_outcome(outcome: FhirJson) -> FhirJson:
    """The store's OperationOutcome without its server id (the response message gives it a place of its own)."""
    return {k: v for k, v in outcome.items() if k not in ("id", "meta")}
