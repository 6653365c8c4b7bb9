"""What every service's OpenAPI document says beyond its operations: how a client authenticates, what it gets
when it may not (401/403), and which operation's answer feeds which next one (OpenAPI links).

Why: a client (and schemathesis' stateful phase) can only rely on what the document declares. The services accept
an EHR access token (SMART App Launch for a clinician, SMART Backend Services for a system; the EHR's endpoints are
in its ``/.well-known/smart-configuration``) or the session cookie of a launch; each operation's scopes are the
SMART v2 scopes its ``@requires`` checks (``shared/smart/access.py``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared.record_schema import INTEGER, OBJECT, Answer, array, obj

OUTCOME_REF = {"$ref": "#/components/schemas/OperationOutcome"}
BEARER, SMART, COOKIE = "smart_bearer", "smart", "smart_session_cookie"

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "An access token the EHR issued to a client this service accepts "
                            "(SMART_ACCEPTED_CLIENT_IDS): SMART App Launch for a clinician, SMART Backend Services "
                            "for a system. Checked against the EHR's keys (or its introspection endpoint)."},
    SMART: {"type": "openIdConnect", "openIdConnectUrl": "/.well-known/smart-configuration",
            "description": "The EHR's SMART endpoints (authorize, token, keys), discovered from the EHR's "
                           "`/.well-known/smart-configuration`, which extends OpenID Connect discovery. The scopes "
                           "an operation lists are the SMART v2 scopes it needs; a session launched for a patient "
                           "reaches that patient only."},
    COOKIE: {"type": "apiKey", "in": "cookie", "name": "ketalink_smart",
             "description": "The session of a SMART launch in a browser (`/launch`), for the service's pages and "
                            "their calls."},
}
AUTH_RESPONSES = {
    "401": {"description": "No valid token or session (WWW-Authenticate says why)",
            "content": {"application/fhir+json": {"schema": OUTCOME_REF}}},
    "403": {"description": "Authenticated, but a scope, the patient in context or the clinician's role does not "
                           "allow it", "content": {"application/fhir+json": {"schema": OUTCOME_REF}}},
}


def security_for(view: Callable[..., Any]) -> list[dict[str, list[str]]]:
    """The operation's security requirement: a bearer token, the SMART scopes its ``@requires`` check, or the
    launch's session cookie (any one of them)."""
    scopes = sorted({f"patient/{r.resource_type}.{r.action}"
                     for r in getattr(view, "smart_requirements", ())})
    return [{BEARER: []}, {SMART: scopes}, {COOKIE: []}]


def declare_smart(document: dict[str, Any], cookie_name: str, issuer: str) -> None:
    """This deployment's values: the session cookie's name and where the EHR's SMART configuration is."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    if COOKIE in schemes:
        schemes[COOKIE]["name"] = cookie_name
    if SMART in schemes and issuer:
        schemes[SMART]["openIdConnectUrl"] = issuer.rstrip("/") + "/.well-known/smart-configuration"


@dataclass(frozen=True)
class Documented:
    """One operation as the links need it: its id, the path parameters it takes, and where in its success answer
    the ids it gives back are (parameter name → JSON pointer into the body)."""

    operation_id: str
    path: str
    method: str
    status: str
    parameters: tuple[str, ...]
    gives: dict[str, str]


def ids_given(schema: dict[str, Any], components: dict[str, Any], names: Iterable[str]) -> dict[str, str]:
    """Where an answer carries each of ``names``: a required top-level property, or one of the first item of a
    top-level array of records (``/sessions/0/session_id``)."""
    schema = _resolve(schema, components)
    wanted = set(names)
    found: dict[str, str] = {}
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name in wanted and _resolve(properties.get(name, {}), components).get("type") == "string":
            found[name] = f"/{name}"
    for key, value in properties.items():
        items = _resolve(value, components).get("items")
        if not isinstance(items, dict):
            continue
        items = _resolve(items, components)
        for name in items.get("required", []):
            if name in wanted and name not in found:
                found[name] = f"/{key}/0/{name}"
    return found


def add_links(document: dict[str, Any], documented: list[Documented]) -> None:
    """Link each operation's success answer to every other operation whose path parameters it gives (create an
    intake → read it, record its parts, decide; a session → its readings and its note), so a client and stateful
    testing can follow them."""
    for source in documented:
        response = document["paths"][source.path][source.method]["responses"][source.status]
        links = {}
        for target in documented:
            if target is source or not target.parameters or not set(target.parameters) <= source.gives.keys():
                continue
            links[target.operation_id] = {
                "operationId": target.operation_id,
                "parameters": {name: f"$response.body#{source.gives[name]}" for name in target.parameters},
            }
        if links:
            response["links"] = links


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return components.get(ref.rsplit("/", 1)[1], {})
    return schema



#: ``shared/ehr_delivery/views.outstanding_json``: a service's part of the clinic's "not in the EHR" list.
NOT_IN_EHR = Answer("NotInEhr", obj({"answer_wait_s": INTEGER, "count": INTEGER, "records": array(OBJECT)}))
