"""Issue 15, patient binding: a browser session launched from patient A's chart, or a token with A in context,
reaches A only, on the JSON API as on the pages, in every service, even with user-level scopes (``user/*.cruds``,
which the EHR does not bound to one patient); the de-identified outcomes export needs the export role and is refused
to a patient-bound context; a token the EHR issued to another client is refused.

The records of "another patient" are the journey's (patient THEIRS, taken from intake to a signed note); the
session and the tokens are for patient MINE. The stack (tests/security/conftest.py) runs the services as the
security tests do, with the session's EHR sandbox and its authorization server; sessions come from a real launch
from the sandbox's chart (tests/security/sessions.py)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.integration.intake.steps import ELIGIBLE_PARTS
from tests.security.conftest import MINE, SERVICES, THEIRS, Stack
from tests.security.journey import Journey
from tests.security.phi import report, scan_text
from tests.security.sessions import launched_session
from tests.security.smart_tokens import EhrAuthorization
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration

USER_LEVEL = "openid fhirUser user/*.cruds"  # what the EHR launch asked for before issue 15: not bound by the EHR
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
VOLATILE = ("as_of", "due_readings", "due_cadss")  # computed from the clock at each read


@dataclass(frozen=True)
class Call:
    service: str
    method: str
    path: str
    body: Any = None
    because: str = "another patient"  # what the refusal's diagnostics say


def _theirs(journey: Journey, patient_ids: dict[str, str]) -> list[Call]:
    """Every kind of operation on patient THEIRS: reads, lists, creates and changes, in every service."""
    theirs, intake = patient_ids[THEIRS], journey.intake_ids[THEIRS]
    session = f"/sessions/{journey.session_id}"
    return [
        Call("intake", "GET", f"/intakes/{intake}"),
        Call("intake", "GET", f"/patients/{theirs}/intakes"),
        Call("intake", "POST", "/intakes", {"patient_id": theirs, "started_by": "Dr. Adaeze Okoye"}),
        Call("intake", "PUT", f"/intakes/{intake}/consent", ELIGIBLE_PARTS["consent"] | {"decision": "refused"}),
        Call("orders", "GET", f"/orders/{journey.order_id}"),
        Call("orders", "GET", f"/patients/{theirs}/series"),
        Call("orders", "GET", f"/patients/{theirs}/eligibility"),
        Call("orders", "GET", f"/patients/{theirs}/course"),
        Call("orders", "POST", "/dose-preview", {"patient_id": theirs}),
        Call("orders", "POST", f"/orders/{journey.order_id}/hold", {"by": "Dr. Adaeze Okoye", "reason": "binding"}),
        Call("documentation", "GET", session),
        Call("documentation", "GET", f"/patients/{theirs}/sessions"),
        Call("documentation", "GET", f"/notes/{journey.note_id}"),
        Call("documentation", "POST", f"{session}/events", {"by": "Grace Ng, RN", "at": "2099-01-01T10:00:00Z",
                                                            "kind": "note", "text": "refused"}),
    ]


ACROSS_PATIENTS = [
    Call("orders", "GET", "/outcomes/export.csv", because="names no patient"),
    Call("orders", "GET", "/outcomes/export", because="names no patient"),
    Call("documentation", "GET", f"/controlled-substances/reconciliation/{clinic_today().isoformat()}",
         because="names no patient"),
]
OWN = {"intake": "/patients/{mine}/intakes", "orders": "/patients/{mine}/series",
       "documentation": "/patients/{mine}/sessions"}
PAGES = {"intake": lambda j: f"/ui/intakes/{j.intake_ids[THEIRS]}", "orders": lambda j: f"/ui/orders/{j.order_id}",
         "documentation": lambda j: f"/ui/sessions/{j.session_id}"}
PAGE_POSTS = {"intake": lambda j: f"/ui/intakes/{j.intake_ids[THEIRS]}/consent",
              "orders": lambda j: f"/ui/orders/{j.order_id}/hold",
              "documentation": lambda j: f"/ui/sessions/{j.session_id}/check-in"}


# -- callers ---------------------------------------------------------------------------------------------------------
class Caller:
    """One service's API and pages, with a bearer token or a browser's session cookie."""

    def __init__(self, base_url: str, token: str | None = None, http: requests.Session | None = None):
        self.base_url, self.http = base_url, http or requests.Session()
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
                 ) -> requests.Response:
        return self.http.request(method, self.base_url + path, json=body, allow_redirects=False, timeout=30,
                                 headers={**JSON, **(headers or {}), **self.auth})


@pytest.fixture(scope="module")
def bound_tokens(smart: EhrAuthorization, patient_ids) -> dict[str, str]:
    """Per service, a token for MINE (launch/patient) with user-level scopes: bound by its patient only."""
    return {name: smart.issue(f"launch/patient {USER_LEVEL}", patient_ids[MINE], service=name)["access_token"]
            for name in SERVICES}


@pytest.fixture(scope="module")
def unbound_tokens(smart: EhrAuthorization) -> dict[str, str]:
    """Per service, dr.okoye's user-level token with no patient: reads THEIRS' records before and after."""
    return {name: smart.issue(USER_LEVEL, service=name)["access_token"] for name in SERVICES}


@pytest.fixture(scope="module")
def sessions(smart: EhrAuthorization, stack: Stack, patient_ids) -> dict[str, requests.Session]:
    """Per service, a browser session launched from MINE's chart by dr.okoye (the service's default scopes)."""
    return {name: launched_session(smart, name, stack.urls[name], patient_ids[MINE]).http for name in SERVICES}


def _callers(kind: str, stack: Stack, bound_tokens, sessions) -> dict[str, Caller]:
    if kind == "token":
        return {name: Caller(stack.urls[name], bound_tokens[name]) for name in SERVICES}
    return {name: Caller(stack.urls[name], http=sessions[name]) for name in SERVICES}


def _refused(answer: requests.Response, because: str, *, bound: bool = True) -> None:
    """A 403 OperationOutcome saying ``because`` and no PHI; ``bound``: the patient binding refused it (not a
    scope: the session's scopes are patient-level, which would refuse another patient too)."""
    assert answer.status_code == 403, f"{answer.request.method} {answer.url}: {answer.status_code} {answer.text}"
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "forbidden", outcome
    diagnostics = outcome["issue"][0]["diagnostics"]
    assert because in diagnostics, outcome
    assert not bound or "bound to" in diagnostics, outcome
    findings = scan_text(answer.text, "refusal")
    assert not findings, report(findings)


def _their_records(stack: Stack, unbound_tokens, journey: Journey, patient_ids) -> dict[str, Any]:
    """What the refused calls would have changed, read with an unbound token."""
    def get(service: str, path: str) -> Any:
        answer = Caller(stack.urls[service], unbound_tokens[service])("GET", path)
        assert answer.status_code == 200, answer.text
        return {k: v for k, v in answer.json().items() if k not in VOLATILE}

    return {"intakes": get("intake", f"/patients/{patient_ids[THEIRS]}/intakes"),
            "intake": get("intake", f"/intakes/{journey.intake_ids[THEIRS]}"),
            "order": get("orders", f"/orders/{journey.order_id}"),
            "session": get("documentation", f"/sessions/{journey.session_id}")}


# -- the JSON API --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["token", "session"])
def test_patient_a_reaches_none_of_patient_bs_records_on_the_api(kind, stack, smart, journey, patient_ids,
                                                                   bound_tokens, unbound_tokens, sessions):
    callers = _callers(kind, stack, bound_tokens, sessions)
    for service in SERVICES:  # the control: the same caller reaches its own patient
        own = callers[service]("GET", OWN[service].format(mine=patient_ids[MINE]))
        assert own.status_code == 200, f"{service}: {own.status_code} {own.text}"
    before = _their_records(stack, unbound_tokens, journey, patient_ids)
    for call in _theirs(journey, patient_ids) + ACROSS_PATIENTS:
        _refused(callers[call.service](call.method, call.path, call.body), call.because)
    assert _their_records(stack, unbound_tokens, journey, patient_ids) == before


# -- the pages -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_patient_a_sees_none_of_patient_bs_records_on_the_pages(service, stack, smart, journey, sessions):
    page = Caller(stack.urls[service], http=sessions[service])
    own = page("GET", "/", headers=HTML)
    assert own.status_code == 200, own.text
    shown = page("GET", PAGES[service](journey), headers=HTML)
    assert shown.status_code == 403 and 'data-smart-error="other-patient"' in shown.text, shown.text
    posted = page("POST", PAGE_POSTS[service](journey), headers={**HTML, "Origin": stack.urls[service]})
    assert posted.status_code == 403 and 'data-smart-error="other-patient"' in posted.text, posted.text
    assert not scan_text(shown.text + posted.text, "page"), report(scan_text(shown.text + posted.text, "page"))


# -- the outcomes export ---------------------------------------------------------------------------------------------
def test_the_export_needs_the_export_role_and_no_patient_in_context(stack, smart: EhrAuthorization, patient_ids):
    """On this stack physicians may take the export (ORDERS_COURSE_EXPORT_ROLE_CODES, tests/security/conftest.py),
    read from the EHR's PractitionerRole: dr.okoye is one, nurse.ng is not."""
    orders = stack.urls["orders"]
    nurse = Caller(orders, smart.issue(USER_LEVEL, service="orders", user="nurse.ng")["access_token"])
    for path in ("/outcomes/export.csv", "/outcomes/export"):
        _refused(nurse("GET", path), "outcomes export", bound=False)
    bound = Caller(orders, smart.issue(f"launch/patient {USER_LEVEL}", patient_ids[MINE], service="orders")[
        "access_token"])
    _refused(bound("GET", "/outcomes/export.csv"), "names no patient")
    physician = Caller(orders, smart.issue(USER_LEVEL, service="orders")["access_token"])
    exported = physician("GET", "/outcomes/export.csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv"), exported.text
    assert next(csv.reader(io.StringIO(exported.text)))  # the header row at least
    bundle = physician("GET", "/outcomes/export")
    assert bundle.status_code == 200 and bundle.json()["resourceType"] == "Bundle", bundle.text


# -- tokens of another client ------------------------------------------------------------------------------------
@pytest.mark.parametrize("service", SERVICES)
def test_a_token_the_ehr_issued_to_another_client_is_refused(service, stack, smart: EhrAuthorization, patient_ids):
    own_path = OWN[service].format(mine=patient_ids[MINE])
    for issued_to in SERVICES:
        token = smart.issue(USER_LEVEL, service=issued_to)["access_token"]
        answer = Caller(stack.urls[service], token)("GET", own_path)
        if issued_to == service:
            assert answer.status_code == 200, answer.text  # the control: the same grant, the service's own client
            continue
        assert answer.status_code == 401, f"{issued_to}'s token at {service}: {answer.status_code} {answer.text}"
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
        assert "another client" in answer.json()["issue"][0]["diagnostics"]
