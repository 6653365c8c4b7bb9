"""The event contract as an AsyncAPI 3 document an integration engine can load: the topics and who reads and writes
them (``topics.ACCESS``), the Kafka key and headers, and each event code's FHIR message (``catalogue.py``).

Generated, never written by hand, so it cannot drift from the code: ``python -m shared.events.asyncapi`` prints it
(``make contract`` writes docs/asyncapi.yaml), and tests/unit/shared/test_asyncapi_document.py fails when the
committed file differs from what this module generates, and validates it with the official AsyncAPI parser
(tools/asyncapi). ``document()`` is pure: the same code gives the same document.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from shared.events import catalogue, event_codes, topics
from shared.events.catalogue import EventSpec, FocusPart
from shared.fhir.codes import MESSAGE_EVENTS
from shared.fhir.messaging import ResponseCode

ASYNCAPI_VERSION = "3.1.0"
KAFKA_BINDING_VERSION = "0.5.0"
CONTENT_TYPE = "application/fhir+json"  # shared/events/outbox.py CONTENT_TYPE (a test keeps them equal)
DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
LOCAL_BOOTSTRAP = "127.0.0.1:9092"  # KafkaSettings.bootstrap_servers' default (a test keeps them equal)

# The Kafka headers as the outbox relay sets them (shared/events/outbox.py), and those the consumer adds when it
# dead-letters a record (shared/events/consumer.py); a test reads both modules and compares.
MESSAGE_HEADERS: dict[str, str] = {
    "message-id": "The MessageHeader id: the message's identity, by which every consumer deduplicates.",
    "event-code": "MessageHeader.eventCoding.code (for a response message, the code of the message it answers).",
    "content-type": "Always application/fhir+json.",
}
DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq-reason": "Why the record could not be processed (at most 2000 bytes; names fields, never values).",
    "dlq-consumer": "The consumer group that gave up on it (ketalink-<service> by default).",
    "dlq-source-topic": "The topic it was read from.",
    "dlq-source-partition": "Its partition there (decimal).",
    "dlq-source-offset": "Its offset there (decimal).",
}
KEY_DESCRIPTION = ("The EHR Patient id the message is about (Patient/{id} of its resources), so that one patient's "
                   "messages stay in order on one partition.")
PROCESS_NAMES = {"ehr": "the EHR's integration engine (the sandbox plays it locally)"}


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document, as plain data."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for topic in _event_topics():
        specs = catalogue.specs_on(topic)
        for spec in specs:
            messages[_message_id(spec)] = _event_message(spec)
        if topic == topics.EHR_RESPONSES:
            messages[_response_message_id()] = _response_message()
            channel_messages = {"response": _ref("components/messages", _response_message_id())}
        else:
            channel_messages = {spec.code: _ref("components/messages", _message_id(spec)) for spec in specs}
        channels[topic] = _channel(topic, channel_messages)
    messages["dead-letter"] = _dead_letter_message()
    for topic in _dead_letter_topics():
        channels[topic] = _channel(topic, {"dead-letter": _ref("components/messages", "dead-letter")})
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Ketalink events",
            "version": "1.0.0",
            "description": (
                "The Kafka topics of Ketalink (IV ketamine for treatment-resistant depression) and the EHR's "
                "integration engine. Every event is a FHIR R4 message: a Bundle of type message, the MessageHeader "
                f"first (eventCoding system {MESSAGE_EVENTS}), then the focus resources in the order given under "
                "x-fhir-focus, then a Provenance for them (Ketalink's messages). Responses (MessageHeader.response) "
                "carry the event code of the message they answer. Resource shapes: docs/contracts.md. Generated "
                "from shared/events/topics.py and shared/events/catalogue.py by `make contract`; do not edit."),
            "license": {"name": "Proprietary"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(),
        "channels": channels,
        "operations": _operations(),
        "components": {
            "messages": messages,
            "securitySchemes": {"scram": {
                "type": "scramSha512",
                "description": "KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD, one Strimzi KafkaUser per process."}},
        },
    }


def render() -> str:
    """The document as YAML, keys in the order written."""
    return yaml.dump(document(), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=118,
                     allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a shared dict is written out in full each time, never as &anchor/*alias


def _event_topics() -> list[str]:
    """The topics that carry FHIR messages, in event_codes.CODES_BY_TOPIC order."""
    return list(event_codes.CODES_BY_TOPIC)


def _dead_letter_topics() -> list[str]:
    return [topic for topic in topics.all_topics() if topic.endswith(topics.DEAD_LETTER_SUFFIX)]


def _writers_and_readers(topic: str) -> tuple[list[str], list[str]]:
    writers = [name for name, access in topics.ACCESS.items()
               if topic in access.writes or topic in access.dead_letter_writes]
    readers = [name for name, access in topics.ACCESS.items() if topic in access.reads]
    return writers, readers


def _channel(topic: str, messages: dict[str, Any]) -> dict[str, Any]:
    writers, readers = _writers_and_readers(topic)
    if topic.endswith(topics.DEAD_LETTER_SUFFIX):
        source = topic.removesuffix(topics.DEAD_LETTER_SUFFIX)
        description = (f"Records of {source} a consumer gave up on, as received, with the dlq-* headers; written "
                       f"by {', '.join(_name(w) for w in writers)}. Read by operations: the dlq-replay job sends a record back to "
                       f"{source} without the dlq-* headers.")
    else:
        description = (f"Written by {', '.join(_name(w) for w in writers)}; "
                       f"read by {', '.join(_name(r) for r in readers)}.")
        legacy = event_codes.LEGACY_CODES_BY_TOPIC.get(topic, ())
        if legacy:
            description += f" No longer sent here: {', '.join(legacy)} (answers to ones sent before may come)."
    return {"address": topic, "title": topic, "description": description, "messages": messages,
            "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}}}


def _name(process: str) -> str:
    return PROCESS_NAMES.get(process, process)


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for process, access in topics.ACCESS.items():
        for topic in access.reads:
            operation = _operation("receive", topic, f"{_name(process)} reads {topic}.")
            if process != "ehr":
                operation["bindings"] = {"kafka": {
                    "groupId": {"type": "string", "default": f"ketalink-{process}",
                                "description": "CONSUMER_GROUP; every replica of the service shares it."},
                    "bindingVersion": KAFKA_BINDING_VERSION}}
            operations[f"{process}.receive.{topic}"] = operation
        for topic in access.writes:
            operations[f"{process}.send.{topic}"] = _operation(
                "send", topic, f"{_name(process)} writes {topic} (from its outbox, in the order of its changes).")
        for topic in access.dead_letter_writes:
            operations[f"{process}.send.{topic}"] = _operation(
                "send", topic, f"{_name(process)} dead-letters a record of "
                               f"{topic.removesuffix(topics.DEAD_LETTER_SUFFIX)} it cannot process.")
    return operations


def _operation(action: str, topic: str, summary: str) -> dict[str, Any]:
    return {"action": action, "channel": _ref("channels", topic), "summary": summary[:1].upper() + summary[1:]}


def _servers() -> dict[str, Any]:
    return {
        "local": {"host": LOCAL_BOOTSTRAP, "protocol": "kafka",
                  "description": "`make run`'s broker (KAFKA_BOOTSTRAP_SERVERS' default, PLAINTEXT)."},
        "site": {"host": "{bootstrap}", "protocol": "kafka-secure",
                 "description": "A site's cluster: KAFKA_SECURITY_PROTOCOL=SASL_SSL, KAFKA_SASL_MECHANISM="
                                "SCRAM-SHA-512, one KafkaUser per process with the ACLs of topics.ACCESS.",
                 "variables": {"bootstrap": {"description": "KAFKA_BOOTSTRAP_SERVERS (host:port)."}},
                 "security": [_ref("components/securitySchemes", "scram")]},
    }


def _message_id(spec: EventSpec) -> str:
    return f"{spec.topic}.{spec.code}"


def _response_message_id() -> str:
    return f"{topics.EHR_RESPONSES}.response"


def _event_message(spec: EventSpec) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": spec.code,
        "title": spec.code,
        "summary": spec.summary,
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema((spec.code,)),
        "payload": _bundle_schema((spec.code,), spec.resource_types, response=spec.is_response),
        "bindings": _key_binding(),
    }
    if spec.response_details is not None:
        message["correlationId"] = _response_correlation()
        message["x-fhir-response-details"] = _focus_entry(spec.response_details)
    else:
        message["x-fhir-focus"] = [_focus_entry(part) for part in spec.focus]
    return message


def _response_message() -> dict[str, Any]:
    answered = sorted({spec.code for topic in (topics.INTAKE_EVENTS, topics.ORDERS_EVENTS,
                                               topics.DOCUMENTATION_EVENTS)
                       for spec in catalogue.specs_on(topic, include_legacy=True) if not spec.is_response})
    details = catalogue.RESPONSE_DETAILS
    return {
        "name": "response",
        "title": "The EHR's answer",
        "summary": ("The EHR's integration engine's answer to one Ketalink message: ok (applied), transient-error "
                    "(try again later) or fatal-error (refused; the reasons in the OperationOutcome), under the "
                    "event code of the message it answers."),
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema(tuple(answered)),
        "payload": _bundle_schema(tuple(answered), (details.resource_type,), response=True),
        "correlationId": _response_correlation(),
        "bindings": _key_binding(),
        "x-fhir-response-details": _focus_entry(details),
    }


def _dead_letter_message() -> dict[str, Any]:
    headers = _headers_schema(tuple(sorted(event_codes.all_codes())), required=False)
    headers["properties"].update({name: {"type": "string", "description": text}
                                  for name, text in DEAD_LETTER_HEADERS.items()})
    headers["required"] = list(DEAD_LETTER_HEADERS)
    return {
        "name": "dead-letter",
        "title": "A record a consumer gave up on",
        "summary": ("The record's key, value and headers as received (the value is usually a FHIR message, but is "
                    "whatever arrived), with the reason in dlq-reason."),
        "headers": headers,
        "payload": {"description": "The record's value, unchanged."},
        "bindings": _key_binding(),
    }


def _headers_schema(codes: tuple[str, ...], *, required: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "message-id": {"type": "string", "description": MESSAGE_HEADERS["message-id"]},
            "event-code": {"type": "string", **_one_of(codes), "description": MESSAGE_HEADERS["event-code"]},
            "content-type": {"type": "string", "const": CONTENT_TYPE, "description": MESSAGE_HEADERS["content-type"]},
        },
    }
    if required:
        schema["required"] = list(MESSAGE_HEADERS)
    return schema


def _one_of(values: tuple[str, ...]) -> dict[str, Any]:
    return {"const": values[0]} if len(values) == 1 else {"enum": list(values)}


def _key_binding() -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": KEY_DESCRIPTION},
                      "bindingVersion": KAFKA_BINDING_VERSION}}


def _response_correlation() -> dict[str, Any]:
    return {"description": "MessageHeader.response.identifier: the id of the message answered (its message-id).",
            "location": "$message.payload#/entry/0/resource/response/identifier"}


def _focus_entry(part: FocusPart) -> dict[str, Any]:
    entry = {"resourceType": part.resource_type, "cardinality": part.cardinality}
    if part.role:
        entry["role"] = part.role
    return entry


def _bundle_schema(codes: tuple[str, ...], resource_types: tuple[str, ...], *, response: bool) -> dict[str, Any]:
    """A FHIR message Bundle whose first entry is the MessageHeader with one of ``codes`` and whose other entries
    are of ``resource_types`` (plus the Provenance of a message that has a focus)."""
    header: dict[str, Any] = {
        "type": "object",
        "required": ["resourceType", "id", "eventCoding", "source", *(["response"] if response else [])],
        "properties": {
            "resourceType": {"const": "MessageHeader"},
            "id": {"type": "string", "description": MESSAGE_HEADERS["message-id"]},
            "eventCoding": {"type": "object", "required": ["system", "code"], "properties": {
                "system": {"const": MESSAGE_EVENTS}, "code": {"type": "string", **_one_of(codes)}}},
            "source": {"type": "object", "required": ["endpoint"], "properties": {
                "endpoint": {"type": "string", "description": "The sender (its public base URL or urn:ketalink:)."}}},
        },
    }
    if response:
        header["properties"]["response"] = {"type": "object", "required": ["identifier", "code"], "properties": {
            "identifier": {"type": "string", "description": "The id of the message answered."},
            "code": {"type": "string", "enum": [code.value for code in ResponseCode]},
            "details": {"type": "object", "description": "The OperationOutcome entry's fullUrl, when there is one."}}}
    else:
        header["properties"]["focus"] = {"type": "array", "minItems": 1,
                                         "items": {"type": "object", "required": ["reference"]}}
    others = [*resource_types, *([] if response or "Provenance" in resource_types else ["Provenance"])]
    return {
        "type": "object",
        "required": ["resourceType", "type", "timestamp", "entry"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"const": "message"},
            "timestamp": {"type": "string", "format": "date-time"},
            "entry": {
                "type": "array",
                "minItems": 1 if response else 2,
                "items": [_entry_schema(header)],
                "additionalItems": _entry_schema({"type": "object", "required": ["resourceType"], "properties": {
                    "resourceType": {"type": "string", "enum": others}}}),
            },
        },
    }


def _entry_schema(resource: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["fullUrl", "resource"], "properties": {
        "fullUrl": {"type": "string", "description": "urn:uuid: (references between entries may use it)."},
        "resource": resource}}


def _ref(section: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/{section}/{name}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.events.asyncapi", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write docs/asyncapi.yaml instead of printing it")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        DOCUMENT_PATH.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
