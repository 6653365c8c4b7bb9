"""A CDS Hooks 2.0 hook request read and bounded: the fields this service uses, each checked, every problem a 400
that names the field. The body's size, depth and array lengths are bounded before this runs (``shared/web.py``,
``shared/json_bounds.py``); here the draft orders are bounded too, since each one is checked against the protocol."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.web import ApiError

MAX_DRAFT_ORDERS = 20
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
USER_REFERENCE = re.compile(r"(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class HookRequest:
    hook: str
    hook_instance: str
    patient_id: str
    user_id: str  # a reference (Practitioner/123), never a name
    encounter_id: str | None
    draft_orders: tuple[dict[str, Any], ...]  # the MedicationRequests of context.draftOrders
    selections: tuple[str, ...]  # order-select: the draft orders just chosen (Type/id)
    fhir_server: str | None
    access_token: str | None
    prefetch: dict[str, Any]


def read_hook_request(body: Any, expected_hook: str) -> HookRequest:
    if not isinstance(body, dict):
        raise _bad("", "the hook request must be a JSON object")
    if body.get("hook") != expected_hook:
        raise _bad("hook", f"this service answers the {expected_hook} hook")
    hook_instance = body.get("hookInstance")
    if not isinstance(hook_instance, str) or not _is_uuid(hook_instance):
        raise _bad("hookInstance", "hookInstance must be a UUID")
    context = body.get("context")
    if not isinstance(context, dict):
        raise _bad("context", "context must be an object")
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not FHIR_ID.fullmatch(patient_id):
        raise _bad("context.patientId", "context.patientId must be a FHIR id")
    user_id = context.get("userId")
    if not isinstance(user_id, str) or not USER_REFERENCE.fullmatch(user_id):
        raise _bad("context.userId", "context.userId must be a reference such as Practitioner/123")
    encounter_id = context.get("encounterId")
    if "encounterId" in context and (not isinstance(encounter_id, str) or not FHIR_ID.fullmatch(encounter_id)):
        raise _bad("context.encounterId", "context.encounterId must be a FHIR id")
    drafts = _draft_orders(context.get("draftOrders"))
    selections: tuple[str, ...] = ()
    if expected_hook == "order-select":
        raw = context.get("selections")
        if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and len(s) <= 200 for s in raw):
            raise _bad("context.selections", "order-select needs context.selections: the chosen orders' Type/id")
        selections = tuple(raw)
    fhir_server, token = _fhir_access(body)
    prefetch = body.get("prefetch", {})
    if prefetch is None:
        prefetch = {}
    if not isinstance(prefetch, dict):
        raise _bad("prefetch", "prefetch must be an object")
    return HookRequest(expected_hook, hook_instance, patient_id, user_id, encounter_id, drafts, selections,
                       fhir_server, token, prefetch)


def _draft_orders(bundle: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _bad("context.draftOrders", "context.draftOrders must be a Bundle")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or len(entries) > MAX_DRAFT_ORDERS:
        raise _bad("context.draftOrders.entry", f"at most {MAX_DRAFT_ORDERS} draft orders")
    resources = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise _bad(f"context.draftOrders.entry[{index}]", "each entry must hold a resource")
        resources.append(resource)
    return tuple(resources)


def _fhir_access(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Each of them left out, or as the spec gives it: a JSON null is neither a URL nor a token, and says nothing
    their absence does not."""
    server = token = None
    if "fhirServer" in body:
        server = body["fhirServer"]
        if not isinstance(server, str) or urlsplit(server).scheme not in ("http", "https") or len(server) > 500:
            raise _bad("fhirServer", "fhirServer must be an http(s) URL")
        server = server.rstrip("/")
    if "fhirAuthorization" in body:
        authorization = body["fhirAuthorization"]
        if not isinstance(authorization, dict) or authorization.get("token_type", "Bearer") != "Bearer" or \
                not isinstance(authorization.get("access_token"), str) or not authorization["access_token"]:
            raise _bad("fhirAuthorization", "fhirAuthorization must carry a Bearer access_token")
        token = authorization["access_token"]
    return server, token


def _is_uuid(value: str) -> bool:
    """A UUID in its canonical text form (8-4-4-4-12 hex digits), as CDS Hooks' hookInstance is."""
    return UUID_TEXT.fullmatch(value) is not None


def _bad(where: str, message: str) -> ApiError:
    return ApiError(400, message, code="invalid", expression=where or None)

