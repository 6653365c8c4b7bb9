"""The hospital's integration engine, as the sandbox plays it: applies the FHIR messages the services publish to
the FHIR store and answers each with a response message.

Each message becomes one atomic FHIR transaction. Every Ketalink resource is written with ``PUT Type/{id}`` under an
id derived from its Ketalink identifier (update-as-create), so a message applied twice never makes a second copy,
and this needs no search parameter the server might lack (SEKMET has no ``identifier`` search on RiskAssessment).
The Provenance is PUT under its id derived from the message id. A reference by identifier points at a resource of
the same message (its fullUrl) or at the derived id of one sent earlier; if that one is not in the store yet, the
message is retried (it may still be on its way). A message the store refuses gets a fatal-error response with the
store's OperationOutcome; a store that is down gets nothing yet: the message is retried.

A server error on the transaction (500) is not the store being down: other messages still apply, and this one may
fail the same way every time (a year-9999 time once did). It is retried as any failing record is
(``shared/events/holding.py``): a few times in line, then held, so the next messages of other patients are applied
while it is retried with growing delays, the same patient's later messages waiting behind it, and parked with an
alert after the limit. That is what hospital integration engines do with a message the destination errors on
(an error queue that ops work through), rather than answering fatal-error: a 500 says nothing about the message
being wrong, the server may be fixed, and a fatal-error would tell the clinic to re-enter work that may yet apply.
Only a store that answers nothing or 502/503/504 (down, restarting, overloaded) is an outage: every message waits
in line for it, none is held or parked for it. A message that is held is answered ``transient-error`` (in the
transaction that holds it), so the clinic sees "not in the EHR yet: the EHR is retrying" rather than an unanswered
message; the final ``ok`` or ``fatal-error`` follows when it is applied or refused.
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from shared.events.consumer import EHR_OUTAGE_STATUSES, OutageError, PermanentError, TransientError, decode
from shared.events.topics import EHR_RESPONSES
from shared.fhir.client import (
    FhirClient, FhirError, FhirInvalid, FhirNotFound, FhirPreconditionFailed, FhirUnavailable,
)
from shared.fhir.codes import IDENTIFIER_BASE
from shared.fhir.datatypes import FhirJson
from shared.fhir.messaging import Message, ResponseCode, build_response
from shared.runtime import ServiceRuntime
from shared.web import operation_outcome

log = logging.getLogger(__name__)

EHR_ID_NAMESPACE = uuid.UUID("0b7e3c52-8d0e-4f0c-9a57-2f6c1f0e5d11")
Resolver = Callable[[str, str, str], str]


def ehr_resource_id(system: str, value: str) -> str:
    """The store id of the resource that carries the Ketalink identifier ``system|value``."""
    return str(uuid.uuid5(EHR_ID_NAMESPACE, f"{system}|{value}"))


KNOWN_REFERENCES_KEPT = 10_000  # resources seen in the store, remembered so a later message need not read them again


class StoreReferences:
    """The literal reference of a resource sent in an earlier message (under the id derived from its identifier),
    once it is in the store. The store keeps Ketalink's resources (nothing deletes them), so one found there, or
    written by a transaction of this engine that the store committed, is remembered and the next message that
    refers to it needs no read (``KNOWN_REFERENCES_KEPT`` most recent; a course-changed message refers to the series
    CarePlan its order-signed message wrote just before). One not there yet is never remembered: the message is
    retried and reads it again."""

    def __init__(self, fhir: FhirClient):
        self._fhir = fhir
        self._found: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()  # the consumer and the held-record retries resolve from two threads

    def resolve(self, resource_type: str, system: str, value: str) -> str:
        reference = f"{resource_type}/{ehr_resource_id(system, value)}"
        with self._lock:
            if reference in self._found:
                self._found.move_to_end(reference)
                return reference
        try:
            self._fhir.read(resource_type, ehr_resource_id(system, value))
        except FhirNotFound:
            raise TransientError(f"{resource_type} with identifier {system}|… not in the store yet") from None
        except FhirUnavailable as error:
            if error.status in EHR_OUTAGE_STATUSES:
                raise OutageError(f"EHR store unavailable (HTTP {error.status or 'no answer'})") from None
            raise TransientError(f"EHR store failed a read: HTTP {error.status}") from None
        self._remember([reference])
        return reference

    def written(self, transaction: FhirJson) -> None:
        """The resources of ``transaction``, once the store committed it, are in the store."""
        self._remember([entry["request"]["url"] for entry in transaction["entry"]])

    def _remember(self, references: list[str]) -> None:
        with self._lock:
            for reference in references:
                self._found[reference] = None
                self._found.move_to_end(reference)
            while len(self._found) > KNOWN_REFERENCES_KEPT:
                self._found.popitem(last=False)


class IntegrationEngine:
    def __init__(self, runtime: ServiceRuntime, fhir: FhirClient):
        self._runtime = runtime
        self._fhir = fhir
        self._references = StoreReferences(fhir)

    def handle(self, message: Message, conn: Connection) -> None:
        """Apply one message and answer it (the consumer routes no response messages here: there is nothing in
        them to apply)."""
        patient_key = _patient_key(message)
        try:
            transaction = build_transaction(message, self._references.resolve)
            self._fhir.transaction(transaction)
            self._references.written(transaction)
            response = build_response(message, ResponseCode.OK, self._runtime.source_endpoint)
        except FhirUnavailable as error:
            if error.status in EHR_OUTAGE_STATUSES:
                raise OutageError(f"EHR store unavailable (HTTP {error.status or 'no answer'})") from None
            raise TransientError(f"EHR store failed the transaction: HTTP {error.status}") from None
        except ConnectionError:
            raise OutageError("EHR store unavailable (no connection)") from None
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

    def answer_held(self, value: bytes | None, conn: Connection, behind: bool) -> None:
        """Answer a held message ``transient-error``: it is not applied yet and the engine keeps trying. Nothing for
        a record that is no message (it is dead-lettered in its turn) or a response (nothing to apply)."""
        try:
            message = decode(value)
        except PermanentError:
            return
        if message.response_to is not None:
            return
        reason = ("waiting behind an earlier message of the same patient that the EHR has not applied yet" if behind
                  else "the EHR failed to apply it; the integration engine retries it")
        response = build_response(message, ResponseCode.TRANSIENT_ERROR, self._runtime.source_endpoint,
                                  operation_outcome([("", reason)], code="transient"))
        self._runtime.publish(conn, EHR_RESPONSES, _patient_key(message), response)


def build_transaction(message: Message, resolve_earlier: Resolver) -> FhirJson:
    """The transaction bundle that applies ``message``'s resources (pure apart from ``resolve_earlier``)."""
    in_message: dict[tuple[str, str, str], str] = {}
    resources = []
    for entry in message.bundle["entry"][1:]:
        resource = json.loads(json.dumps(entry["resource"]))
        resources.append((entry["fullUrl"], resource))
        ketalink_identifier = _ketalink_identifier(resource)
        if ketalink_identifier is not None:
            key = (resource["resourceType"], ketalink_identifier["system"], ketalink_identifier["value"])
            in_message[key] = entry["fullUrl"]

    def resolve(resource_type: str, system: str, value: str) -> str:
        return in_message.get((resource_type, system, value)) or resolve_earlier(resource_type, system, value)

    entries = []
    for full_url, resource in resources:
        _resolve_references(resource, resolve)
        resource_type = resource["resourceType"]
        if resource_type == "Provenance":
            request = {"method": "PUT", "url": f"Provenance/{resource['id']}"}
        else:
            ketalink_identifier = _ketalink_identifier(resource)
            if ketalink_identifier is None:
                raise PermanentError(f"{resource_type} has no Ketalink identifier, so it cannot be applied once only")
            resource["id"] = ehr_resource_id(ketalink_identifier["system"], ketalink_identifier["value"])
            request = {"method": "PUT", "url": f"{resource_type}/{resource['id']}"}
        entries.append({"fullUrl": full_url, "resource": resource, "request": request})
    if not entries:
        raise PermanentError("the message has no resources to apply")
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _ketalink_identifier(resource: FhirJson) -> FhirJson | None:
    """The resource's Ketalink identifier; ``identifier`` is a list on most resources, a single one on some
    (QuestionnaireResponse)."""
    identifiers = resource.get("identifier") or []
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    return next((i for i in identifiers if isinstance(i, dict)
                 and str(i.get("system", "")).startswith(IDENTIFIER_BASE) and i.get("value")), None)


def _resolve_references(node: Any, resolve: Resolver) -> None:
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
        if isinstance(reference, str) and reference.startswith("Patient/"):
            return reference.split("/", 1)[1]
    return "unknown"


def _clean_outcome(outcome: FhirJson) -> FhirJson:
    """The store's OperationOutcome without its server id (the response message gives it a place of its own)."""
    return {k: v for k, v in outcome.items() if k not in ("id", "meta")}
