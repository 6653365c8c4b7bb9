"""The prefetch data of a hook call: what the EHR sent, and every key it left out read from the EHR with the
``fhirServer`` and ``fhirAuthorization`` of the request, following the same templates (``discovery.PREFETCH``).

The request's ``fhirServer`` is only ever called when it is one the calling EHR is configured with (``fhir_servers``
of its ``iss``, default ``EHR_FHIR_BASE_URL``): a token-bearing request to a URL a caller chose would let any
trusted caller make this service fetch from anywhere (SSRF)."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from shared.cds_prefetch_template import MAX_LIST_PAGES, fill_template, hook_tokens, is_latest_one
from shared.fhir.client import FhirClient, FhirError, FhirNotFound, FhirUnavailable, TooManyPages
from shared.fhir.validate import FhirValidationError, validate_resource
from shared.web import ApiError
from services.orders.cds_hooks.discovery import PREFETCH, READ_WHEN_MISSING
from services.orders.cds_hooks.request import HookRequest

Resources = dict[str, list[dict[str, Any]]]
MAX_PAGES = MAX_LIST_PAGES  # the sandbox EHR's CDS client prefetches a list over as many pages


class _RequestToken:
    """The request's ``fhirAuthorization`` token for ``FhirClient``; a refused token is not retried."""

    def __init__(self, token: str):
        self._token: str | None = token

    def access_token(self) -> str:
        if self._token is None:
            raise FhirError(401, ["the EHR refused the hook request's fhirAuthorization token"])
        return self._token

    def forget(self, access_token: str) -> None:
        self._token = None


def trusted_fhir_server(request: HookRequest, allowed: tuple[str, ...]) -> str | None:
    """The request's fhirServer when it is one of ``allowed``; a 400 for any other (never fetched)."""
    if request.fhir_server is None:
        return None
    if request.fhir_server not in allowed:
        raise ApiError(400, "fhirServer is not a FHIR server configured for this EHR (ORDERS_CDS_TRUSTED_ISSUERS "
                            "fhir_servers)", code="security", expression="fhirServer")
    return request.fhir_server


def resolve_prefetch(request: HookRequest, fhir_server: str | None, timeout_s: float) -> Resources:
    """Every key the EHR sent or the cards use → its resources (a key the EHR sent as null: none)."""
    resolved: Resources = {}
    missing = []
    for key in PREFETCH:
        if key in request.prefetch and not _part_of_a_list(request.prefetch[key], key):
            resolved[key] = _valid(_resources(request.prefetch[key], key), key, 400, "the prefetch")
        elif key in READ_WHEN_MISSING:
            missing.append(key)
    if not missing:
        return resolved
    if fhir_server is None:
        raise ApiError(412, f"prefetch lacks {', '.join(missing)} (or sent only a list's first page) and the "
                            "request names no fhirServer to read them from", code="incomplete",
                       expression="prefetch")
    tokens = _RequestToken(request.access_token) if request.access_token else None
    client = FhirClient(fhir_server, timeout_s=timeout_s, retries=1, backoff_s=0.2, tokens=tokens)
    for key in missing:
        resolved[key] = _valid(_read(client, filled_query(key, request)), key, 412, "the EHR's answer")
    return resolved


def _valid(resources: list[dict[str, Any]], key: str, status: int, source: str) -> list[dict[str, Any]]:
    """Each resource structurally valid FHIR R4 (as every translator-in checks first; a JSON null or a value of the
    wrong JSON type is refused there, named), so the rules only ever read well-formed data: a 400 for the EHR's
    prefetch, a 412 for what the EHR answered a read with."""
    for resource in resources:
        try:
            validate_resource(resource)
        except FhirValidationError as error:
            where, what = error.issues[0] if error.issues else ("", "invalid")
            raise ApiError(status, f"{source} for {key} is not valid FHIR R4: {where}: {what}"[:500],
                           expression=f"prefetch.{key}") from None
    return resources


def _part_of_a_list(value: Any, key: str) -> bool:
    """A list key's Bundle with a ``next`` link: the EHR sent only its first page(s), and a contraindication on the
    next is still the patient's, so the key is read whole as if left out. ("The latest one" keys are one page by
    design: their next link is the older history.)"""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return False
    if is_latest_one(dict(parse_qsl(PREFETCH[key].partition("?")[2]))):
        return False
    links = value.get("link")
    return isinstance(links, list) and any(isinstance(link, dict) and link.get("relation") == "next"
                                           for link in links)


def filled_query(key: str, request: HookRequest) -> str:
    """The key's template filled from the request (the same filler as the EHR sandbox's CDS client); a template
    whose token the request has no value for is a 412: the key cannot be read, and no rule may run without it."""
    query = fill_template(PREFETCH[key], hook_tokens(request.patient_id, request.user_id, request.encounter_id))
    if query is None:
        raise ApiError(412, f"the request has no value for a token of the {key} prefetch template",
                       code="incomplete", expression="context")
    return query


def _read(client: FhirClient, query: str) -> list[dict[str, Any]]:
    resource_type, _, params = query.partition("?")
    try:
        if not params:
            kind, _, resource_id = resource_type.partition("/")
            return [client.read(kind, resource_id)]
        query = dict(parse_qsl(params, keep_blank_values=True))
        if is_latest_one(query):  # "the latest one" (``_sort=-date&_count=1``): one page, never the whole history
            return client.search_first_page(resource_type, query)
        # A list (conditions, orders, decisions) is read whole: a condition on a second page is still the patient's.
        return client.search(resource_type, query, max_pages=MAX_PAGES)
    except TooManyPages:
        raise ApiError(412, f"the EHR's answer to a {resource_type} search the protocol check needs has more than "
                            f"{MAX_PAGES} pages", code="incomplete", expression="prefetch") from None
    except FhirNotFound:
        return []
    except FhirUnavailable:
        raise ApiError(503, "the EHR's FHIR server did not answer; the order could not be checked",
                       code="transient") from None
    except FhirError as error:
        raise ApiError(412, f"the EHR refused a read the protocol check needs (HTTP {error.status})",
                       code="incomplete", expression="fhirAuthorization") from None


def _resources(value: Any, key: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise ApiError(400, f"prefetch.{key} must be a FHIR resource, a Bundle or null", expression=f"prefetch.{key}")
    if value.get("resourceType") == "Bundle":
        return _bundle_matches(value, key)
    if not isinstance(value.get("resourceType"), str):
        raise ApiError(400, f"prefetch.{key} must be a FHIR resource, a Bundle or null", expression=f"prefetch.{key}")
    return [value]


def _bundle_matches(bundle: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The Bundle's ``match`` entries (an ``include`` or ``outcome`` entry is not one of the patient's). Each entry is
    read as FHIR shapes it or refused naming it: an entry skipped for its shape could be the condition that
    contraindicates the order."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise _bad_entry(key, "entry", "must be an array")
    matches = []
    for index, entry in enumerate(entries):
        where = f"entry[{index}]"
        if not isinstance(entry, dict):
            raise _bad_entry(key, where, "must be an object")
        search = entry.get("search", {})
        if not isinstance(search, dict):
            raise _bad_entry(key, f"{where}.search", "must be an object")
        mode = search.get("mode", "match")
        if not isinstance(mode, str):
            raise _bad_entry(key, f"{where}.search.mode", "must be a code (match, include or outcome)")
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise _bad_entry(key, f"{where}.resource", "must be a FHIR resource")
        if mode == "match":
            matches.append(resource)
    return matches


def _bad_entry(key: str, where: str, what: str) -> ApiError:
    return ApiError(400, f"prefetch.{key}.{where} {what}", expression=f"prefetch.{key}.{where}")
