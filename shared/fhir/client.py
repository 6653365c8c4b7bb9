"""A small FHIR R4 REST client over requests: reads, searches, conditional create, versioned update and
transactions, with OperationOutcome turned into typed errors and retries (with backoff) on 5xx and timeouts only."""
from __future__ import annotations

import logging
import os
import re
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from shared.fhir.datatypes import FhirJson
from shared.metrics import EHR_REQUEST_SECONDS

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    """The server answered with an error; ``status`` and the OperationOutcome's ``issues`` say why."""

    def __init__(self, status: int, issues: list[str], outcome: FhirJson | None = None):
        self.status = status
        self.issues = issues
        self.outcome = outcome
        super().__init__(f"HTTP {status}: {'; '.join(issues) or 'no details'}")


class FhirNotFound(FhirError):
    """404 / 410."""


class FhirPreconditionFailed(FhirError):
    """412: a stale If-Match version, or a conditional create that matched several resources. A stale If-Match
    answered 409 (HAPI FHIR does, HAPI-0989; R4 allows either) is the same version conflict and raises this too."""


class FhirInvalid(FhirError):
    """400 / 422: the server refused the content."""


class FhirUnavailable(FhirError):
    """5xx or no answer after the retries: the EHR is down; the caller keeps the work and tries later."""


class TooManyPages(Exception):
    """A search had more pages than the caller's ``max_pages``."""


class AccessTokens(Protocol):
    """Where a client's bearer tokens come from (``shared/smart/backend.py``: SMART Backend Services)."""

    def access_token(self) -> str:
        """A token to send now; raises ``FhirError`` (or ``FhirUnavailable``) when none can be had."""

    def forget(self, access_token: str) -> None:
        """The server refused ``access_token`` (401): do not hand it out again."""


class FhirClient:
    def __init__(self, base_url: str, *, timeout_s: float = 10.0, retries: int = 3, backoff_s: float = 0.3,
                 session: requests.Session | None = None, headers: dict[str, str] | None = None,
                 tokens: AccessTokens | None = None):
        """``tokens``: every request carries ``Authorization: Bearer`` from it; a 401 answer drops that token and
        the request is sent once more with a new one."""
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        self._session = session or _session_for(self.base_url)
        self._session.headers.update({"Accept": FHIR_JSON, **(headers or {})})

    # --- reads -----------------------------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> FhirJson:
        return self._request("GET", f"{resource_type}/{resource_id}").json()

    def search(self, resource_type: str, params: dict[str, Any], max_pages: int | None = None) -> list[FhirJson]:
        """All matching resources (``search`` mode entries), following ``next`` links; with ``max_pages``, a search
        with more pages raises TooManyPages (a caller that must answer in time never follows links forever)."""
        bundle = self._request("GET", resource_type, params=params, headers=_fresh()).json()
        found: list[FhirJson] = []
        pages = 1
        while True:
            found += _matches(bundle)
            next_url = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            if not next_url:
                return found
            if max_pages is not None and pages >= max_pages:
                raise TooManyPages(f"a {resource_type} search has more than {max_pages} pages")
            bundle = self._request("GET", next_url, headers=_fresh()).json()
            pages += 1

    def search_first_page(self, resource_type: str, params: dict[str, Any]) -> list[FhirJson]:
        """Only the first page: for "the latest one" searches (``_sort=-date&_count=1``), never the whole history."""
        return _matches(self._request("GET", resource_type, params=params, headers=_fresh()).json())

    def search_first_page_with_included(self, resource_type: str, params: dict[str, Any]
                                        ) -> tuple[list[FhirJson], list[FhirJson]]:
        """The first page's matches and the resources it included (``_include``: ``search.mode = include``), fresh
        like every search; what a server that ignores ``_include`` sends is matches only."""
        bundle = self._request("GET", resource_type, params=params, headers=_fresh()).json()
        included = [e["resource"] for e in bundle.get("entry", [])
                    if e.get("search", {}).get("mode") == "include" and "resource" in e]
        return _matches(bundle), included

    def capabilities(self) -> FhirJson:
        return self._request("GET", "metadata").json()

    # --- writes ----------------------------------------------------------------------------------------------
    def create_if_none_exist(self, resource: FhirJson, search: str) -> tuple[FhirJson, bool]:
        """Conditional create; returns (resource, created). 412 when the condition matches several resources."""
        response = self._request("POST", resource["resourceType"], json=resource,
                                 headers={"If-None-Exist": search, "Prefer": "return=representation"})
        return response.json(), response.status_code == 201

    def update(self, resource: FhirJson, *, version_id: str | None = None) -> FhirJson:
        """Update by id; with ``version_id`` the server refuses (FhirPreconditionFailed, whether it answers 412 or
        409) if the resource changed meanwhile."""
        headers = {"Prefer": "return=representation"}
        if version_id is not None:
            headers["If-Match"] = f'W/"{version_id}"'
        try:
            return self._request("PUT", f"{resource['resourceType']}/{resource['id']}", json=resource,
                                 headers=headers).json()
        except FhirError as error:
            if version_id is not None and error.status == 409:  # only with If-Match: a 409 may mean other things
                raise FhirPreconditionFailed(error.status, error.issues, error.outcome) from None
            raise

    def transaction(self, bundle: FhirJson) -> FhirJson:
        return self._request("POST", "", json=bundle, headers={"Prefer": "return=representation"}).json()

    # --- plumbing --------------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}/{path}".rstrip("/")
        headers = {"Content-Type": FHIR_JSON, **kwargs.pop("headers", {})} if "json" in kwargs else kwargs.pop(
            "headers", {})
        attempt = 0
        token_refused = False
        while True:
            attempt += 1
            # The token goes only to the EHR's own origin, never to a next link that points elsewhere.
            token = self._tokens.access_token() if self._tokens is not None and self._own(url) else None
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            started = time.perf_counter()
            try:
                response = self._session.request(method, url, timeout=self._timeout_s, headers=headers, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                _observe(method, url, self.base_url, None, started)
                if attempt > self._retries:
                    raise FhirUnavailable(0, [f"no answer from the FHIR server: {type(error).__name__}"]) from None
                self._sleep(attempt)
                continue
            _observe(method, url, self.base_url, response.status_code, started)
            if response.status_code >= 500 and attempt <= self._retries:
                self._sleep(attempt)
                continue
            if response.status_code == 401 and self._tokens is not None and token is not None and not token_refused:
                token_refused = True  # revoked, or the server's keys rotated: one more try with a new token
                self._tokens.forget(token)
                attempt -= 1
                continue
            if response.status_code >= 400:
                raise _error_for(response)
            return response

    def _own(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    def _sleep(self, attempt: int) -> None:
        time.sleep(self._backoff_s * 2 ** (attempt - 1))


RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


def _observe(method: str, url: str, base_url: str, status: int | None, started: float) -> None:
    """One attempt's latency. Labels: the method, the resource type (the URL's first segment after the base, when
    it is one; never an id or a search value) and the status class."""
    relative = url[len(base_url):] if url.startswith(base_url) else urlsplit(url).path
    first = relative.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    if not first:
        resource_type = "system"  # a transaction or batch at the base, or a page of a search
    elif first == "metadata" or RESOURCE_TYPE.fullmatch(first):
        resource_type = first
    else:
        resource_type = "other"
    status_class = "none" if status is None else f"{status // 100}xx"
    EHR_REQUEST_SECONDS.labels(method, resource_type, status_class).observe(time.perf_counter() - started)


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the environment (proxies, CA bundle) once, for ``base_url``, instead of on every
    request: requests' per-request lookup (proxy variables, ~/.netrc) is a large share of preparing a request
    (docs/performance.md). No .netrc: the EHR is called with tokens."""
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    return session


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _fresh() -> dict[str, str]:
    """Every search asks for an answer computed now, not a cached one (HTTP's ``no-cache`` request directive, which
    HAPI FHIR honours): HAPI reuses a search's result for 60 s by default, so a weight stored since would be missed
    and an older one dosed from (HZ-84, docs/clinical-safety.md). A new dict per request: the plumbing adds to it."""
    return {"Cache-Control": "no-cache"}


def _matches(bundle: FhirJson) -> list[FhirJson]:
    return [e["resource"] for e in bundle.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match" and "resource" in e]


def _error_for(response: requests.Response) -> FhirError:
    outcome: FhirJson | None = None
    issues: list[str] = []
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
            outcome = body
            issues = [i.get("diagnostics") or i.get("details", {}).get("text") or i.get("code", "")
                      for i in body.get("issue", [])]
    except ValueError:
        issues = [response.reason or ""]
    status = response.status_code
    if status in (404, 410):
        return FhirNotFound(status, issues, outcome)
    if status == 412:
        return FhirPreconditionFailed(status, issues, outcome)
    if status in (400, 422):
        return FhirInvalid(status, issues, outcome)
    if status >= 500:
        return FhirUnavailable(status, issues, outcome)
    return FhirError(status, issues, outcome)
