"""The CDS Hooks endpoints in the orders service's OpenAPI document: discovery, one path per CDS service (its hook
request, the cards it answers), feedback and the CORS preflight, with the EHR's signed JWT as their security.

Why here and not through ``shared/api.Operations``: these endpoints follow the CDS Hooks 2.0 wire shapes (not the
project's pydantic request models) and their own authentication (``auth.py``), but a client and the fuzz campaign
can only reach what the document declares. The schemas describe what ``request.py`` and ``feedback.py`` accept and
what ``cards.py`` answers; the fuzz test checks every answer against them."""
from __future__ import annotations

import copy
from typing import Any

from services.orders.cds_hooks.discovery import HOOK_OF_SERVICE, PREFETCH
from services.orders.cds_hooks.feedback import MAX_COMMENT, MAX_ITEMS, OUTCOMES
from services.orders.cds_hooks.request import MAX_DRAFT_ORDERS

CDS_JWT = "cds_hooks_jwt"
SECURITY_SCHEME = {
    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    "description": "The JWT a trusted EHR signs for every hook and feedback call (CDS Hooks 2.0, \"Trusting CDS "
                   "Clients\"): iss a configured EHR (ORDERS_CDS_TRUSTED_ISSUERS), signed with its key (RS384 or "
                   "ES384 by default), aud the URL called, exp and iat current, jti never used before."}
_OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}
_FHIR_ID = "^[A-Za-z0-9\\-.]{1,64}$"
_USER = "^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\\-.]{1,64}$"
_CODING = {"type": "object", "required": ["system", "code"],
           "properties": {"system": {"type": "string", "maxLength": 300}, "code": {"type": "string", "maxLength": 100},
                          "display": {"type": "string"}}}
_CODING_SENT = {"type": "object", "required": ["system", "code"],  # the display is kept only when it is text
                "properties": {"system": {"type": "string", "maxLength": 300},
                               "code": {"type": "string", "maxLength": 100}}}
_LINK = {"type": "object", "required": ["label", "url", "type"],
         "properties": {"label": {"type": "string"}, "url": {"type": "string"},
                        "type": {"type": "string", "enum": ["absolute", "smart"]},
                        "appContext": {"type": "string"}, "autolaunchable": {"type": "boolean"}}}
_ACTION = {"type": "object", "required": ["type", "description"],
           "properties": {"type": {"type": "string", "enum": ["create", "update", "delete"]},
                          "description": {"type": "string"}, "resource": {"type": "object"},
                          "resourceId": {"type": "array", "items": {"type": "string"}}}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "CdsDiscovery": {"type": "object", "required": ["services"], "properties": {"services": {
        "type": "array", "items": {"type": "object", "required": ["hook", "id", "description"], "properties": {
            "hook": {"type": "string"}, "id": {"type": "string"}, "title": {"type": "string"},
            "description": {"type": "string"}, "usageRequirements": {"type": "string"},
            "prefetch": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
    "CdsCard": {"type": "object", "required": ["uuid", "summary", "indicator", "source"], "properties": {
        "uuid": {"type": "string", "format": "uuid"}, "summary": {"type": "string", "maxLength": 139},
        "detail": {"type": "string"}, "indicator": {"type": "string", "enum": ["info", "warning", "critical"]},
        "source": {"type": "object", "required": ["label"], "properties": {
            "label": {"type": "string"}, "url": {"type": "string"}, "icon": {"type": "string"}, "topic": _CODING}},
        "suggestions": {"type": "array", "items": {"type": "object", "required": ["label"], "properties": {
            "label": {"type": "string"}, "uuid": {"type": "string"}, "isRecommended": {"type": "boolean"},
            "actions": {"type": "array", "items": _ACTION}}}},
        "selectionBehavior": {"type": "string", "enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array", "items": _CODING},
        "links": {"type": "array", "items": _LINK}}},
    "CdsResponse": {"type": "object", "required": ["cards"], "properties": {
        "cards": {"type": "array", "items": {"$ref": "#/components/schemas/CdsCard"}},
        "systemActions": {"type": "array", "items": _ACTION}}},
    "CdsFeedback": {"type": "object", "required": ["feedback"], "properties": {"feedback": {
        "type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": {
            "type": "object", "required": ["card", "outcome", "outcomeTimestamp"], "properties": {
                "card": {"type": "string", "minLength": 1, "maxLength": 100},
                "outcome": {"type": "string", "enum": list(OUTCOMES)},
                "outcomeTimestamp": {"type": "string", "format": "date-time"},
                "acceptedSuggestions": {"type": "array", "maxItems": 10, "items": {
                    "type": "object", "required": ["id"], "properties": {"id": {"type": "string", "maxLength": 100}}}},
                "overrideReason": {"type": "object", "required": ["reason"], "properties": {
                    "reason": _CODING_SENT, "userComment": {"type": "string", "maxLength": MAX_COMMENT}}}}}}}},
    "CdsFeedbackStored": {"type": "object", "required": ["stored"],
                          "properties": {"stored": {"type": "integer", "minimum": 0}}},
}


def _hook_request(hook: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "type": "object", "required": ["userId", "patientId", "draftOrders"], "properties": {
            "userId": {"type": "string", "pattern": _USER}, "patientId": {"type": "string", "pattern": _FHIR_ID},
            "encounterId": {"type": "string", "pattern": _FHIR_ID},
            "draftOrders": {"type": "object", "required": ["resourceType"], "properties": {
                "resourceType": {"const": "Bundle"},
                "entry": {"type": "array", "maxItems": MAX_DRAFT_ORDERS, "items": {
                    "type": "object", "required": ["resource"], "properties": {"resource": {
                        "type": "object", "required": ["resourceType"],
                        "properties": {"resourceType": {"type": "string"}}}}}}}}}}
    if hook == "order-select":
        context["required"].append("selections")
        context["properties"]["selections"] = {"type": "array", "minItems": 1,
                                               "items": {"type": "string", "maxLength": 200}}
    return {"type": "object", "required": ["hook", "hookInstance", "context"], "properties": {
        "hook": {"const": hook}, "hookInstance": {"type": "string", "format": "uuid"},
        "fhirServer": {"type": "string", "format": "uri", "maxLength": 500},
        "fhirAuthorization": {"type": "object", "required": ["access_token"], "properties": {
            "access_token": {"type": "string", "minLength": 1}, "token_type": {"const": "Bearer"}}},
        "context": context,
        # A key the EHR could not fill is null (CDS Hooks); keys this service does not ask for are ignored.
        "prefetch": {"type": ["object", "null"],
                     "properties": {key: {"type": ["object", "null"]} for key in PREFETCH}}}}


def _refusals(*statuses: int) -> dict[str, Any]:
    reasons = {400: "The request is not one this service can read (the OperationOutcome names the field)",
               401: "No JWT, or one that is refused (WWW-Authenticate and the OperationOutcome name the reason class)",
               412: "Neither the prefetch nor the fhirServer gives what the cards need, or the EHR's answer is not "
                    "valid FHIR", 503: "The EHR did not answer a read the cards need"}
    return {str(status): {"description": reasons[status], "content": {"application/fhir+json": {"schema": _OUTCOME}}}
            for status in statuses}


def _json(description: str, schema_name: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


_PREFLIGHT = {
    "summary": "CORS preflight of a browser-based CDS client",
    "description": "Answers the configured EHR origins (ORDERS_CDS_ALLOWED_ORIGINS) with the methods and headers "
                   "allowed; any other origin gets no Access-Control-Allow-Origin.",
    "tags": ["cds-hooks"], "security": [],
    "parameters": [{"name": "Origin", "in": "header", "required": False, "schema": {"type": "string"}},
                   {"name": "Access-Control-Request-Method", "in": "header", "required": False,
                    "schema": {"type": "string"}}],
    "responses": {"200": {"description": "Preflight answered (CORS headers for an allowed origin only)"}}}


def paths() -> dict[str, dict[str, Any]]:
    """The CDS Hooks paths of the OpenAPI document: one per CDS service (its own hook), not a templated id, so a
    client and the fuzzer see which hook each service answers."""
    documented: dict[str, dict[str, Any]] = {"/cds-services": {"get": {
        "operationId": "cds_discovery", "summary": "CDS Hooks discovery: the services and their prefetch templates",
        "tags": ["cds-hooks"], "security": [], "responses": {"200": _json("The CDS services", "CdsDiscovery")}},
        "options": {**_PREFLIGHT, "operationId": "cds_discovery_preflight"}}}
    secured = [{CDS_JWT: []}]
    for service_id, hook in HOOK_OF_SERVICE.items():
        name = service_id.replace("-", "_")
        documented[f"/cds-services/{service_id}"] = {
            "post": {"operationId": f"cds_{name}", "summary": f"The {hook} hook: cards for the draft ketamine orders",
                     "tags": ["cds-hooks"], "security": secured,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _hook_request(hook)}}},
                     "responses": {"200": _json("The cards (none for a protocol-correct order)", "CdsResponse"),
                                   **_refusals(400, 401, 412, 503)}},
            "options": {**_PREFLIGHT, "operationId": f"cds_{name}_preflight"}}
        documented[f"/cds-services/{service_id}/feedback"] = {
            "post": {"operationId": f"cds_{name}_feedback",
                     "summary": "What the prescriber did with the cards: accepted, overridden (with the reason) or "
                                "ignored", "tags": ["cds-hooks"], "security": secured,
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/CdsFeedback"}}}},
                     "responses": {"200": _json("How many feedback items were stored (a retry stores none)",
                                                "CdsFeedbackStored"), **_refusals(400, 401)}},
            "options": {**_PREFLIGHT, "operationId": f"cds_{name}_feedback_preflight"}}
    return copy.deepcopy(documented)


def add_to_document(document: dict[str, Any]) -> None:
    """Add the CDS Hooks paths, schemas and security scheme to the service's built OpenAPI document."""
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(copy.deepcopy(SCHEMAS))
    components.setdefault("securitySchemes", {})[CDS_JWT] = dict(SECURITY_SCHEME)
    document.setdefault("paths", {}).update(paths())
