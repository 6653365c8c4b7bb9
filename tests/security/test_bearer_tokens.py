"""Issue 8, tokens: machine calls to the three services (SMART required) with bearer tokens the EHR did not issue
this way, or issued for another patient or fewer scopes, are refused with an OperationOutcome that holds no PHI.

Where each case is covered. A: tests/integration/smart/test_smart_refusals.py (a Flask app built with
``shared.smart``, as the services are). B: tests/browser/test_{intake,orders,documentation}_app.py (the services,
SMART required, API refusals). U: tests/unit/smart/test_tokens.py and test_scopes.py. Here: each of the three
services, the bad tokens signed with the EHR's own key where a claim is what is wrong.

| case                                                                 | A | B | U | here                   |
|----------------------------------------------------------------------|---|---|---|------------------------|
| no credentials → 401 with a Bearer challenge; probes stay open       | x | x |   | x (401 shape)          |
| not a JWT; signed by another key under a new key id → 401            | x |   | x | x                      |
| another key under the EHR's key id; ``alg: none`` → 401              |   |   | x | x                      |
| HS256 keyed with the EHR's public key (algorithm confusion) → 401    |   |   |   | x                      |
| expired bearer token → 401, never refreshed for a machine call       | x |   | x | x                      |
| expired token in a browser session → refreshed; refused refresh      | x |   |   |                        |
| wrong issuer, wrong audience, no ``exp`` → 401                       |   |   | x | x                      |
| the launch's id_token sent as the access token → 401                 |   |   |   | x                      |
| token for another patient → 403                                      | x | x | x | record-bound read+write |
| read-only token on a write (scope missing) → 403                     | x | x | x | record-bound write     |
| token the EHR issued to another client → 401                        | x |   | x | test_patient_binding.py |
| token or session for patient A, user-level scopes: B's records → 403 | x |   | x | test_patient_binding.py |
| session expiry, logout, bad state, unknown iss, PKCE                 | x |   |   |                        |

Here every refusal is also checked for its shape: an ``application/fhir+json`` OperationOutcome (``login`` or
``forbidden``), ``WWW-Authenticate: Bearer`` with the OAuth error, ``Cache-Control: no-store``, no cookie set, none of
the seeded patients' names, birth dates or MRNs in the body or headers, and (403) the record unchanged afterwards.
A token without ``iss`` or ``aud`` but signed by the EHR's key is accepted by design (U:
test_iss_and_aud_are_checked_only_where_present): the sandbox EHR issues none."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from joserfc.jwk import RSAKey

from tests.integration.documentation.clinic import clinical_times, vitals
from tests.integration.intake.steps import ELIGIBLE_PARTS
from tests.security.conftest import MINE, Stack, Tokens
from tests.security.journey import Journey
from tests.security.phi import report, scan_text
from tests.security.smart_tokens import EhrAuthorization, claims_of, expired, unsigned

pytestmark = pytest.mark.integration

READ_OWN = {"intake": "/patients/{mine}/intakes", "orders": "/patients/{mine}/series",
            "documentation": "/patients/{mine}/sessions"}


def _call(stack: Stack, service: str, method: str, path: str, token: str | None = None,
          body: Any = None) -> requests.Response:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return requests.request(method, stack.urls[service] + path, headers=headers, json=body, timeout=15)


def _assert_refused(answer: requests.Response, status: int, fhir_code: str, oauth_error: str | None) -> str:
    """The refusal's shape; returns its diagnostics."""
    assert answer.status_code == status, f"{answer.status_code} {answer.text}"
    assert answer.headers["Content-Type"].startswith("application/fhir+json")
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == fhir_code, outcome
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="ketalink"'), challenge
    if oauth_error:
        assert f'error="{oauth_error}"' in challenge, challenge
    assert answer.headers.get("Cache-Control") == "no-store"
    assert "Set-Cookie" not in answer.headers  # a machine call never gets a session (nor a refreshed token)
    findings = scan_text(answer.text + "\n" + "\n".join(f"{k}: {v}" for k, v in answer.headers.items()),
                         "refusal")
    assert not findings, report(findings)
    return outcome["issue"][0]["diagnostics"]


# -- credentials the services must not accept ----------------------------------------------------------------------
@dataclass(frozen=True)
class BadCredential:
    name: str
    token: Callable[[EhrAuthorization, dict, RSAKey], str | None]  # (EHR, its token response, a stranger's key)
    oauth_error: str | None
    because: str  # a word the diagnostics must contain


BAD_CREDENTIALS = [
    BadCredential("none", lambda ehr, issued, stranger: None, None, "authentication required"),
    BadCredential("not-a-jwt", lambda ehr, issued, stranger: "not-a-jwt", "invalid_token", "not a signed JWT"),
    BadCredential("expired", lambda ehr, issued, stranger: ehr.sign(expired(claims_of(issued["access_token"]))),
                  "invalid_token", "expired"),
    BadCredential("no-exp", lambda ehr, issued, stranger: ehr.sign(
        {k: v for k, v in claims_of(issued["access_token"]).items() if k != "exp"}), "invalid_token", "exp"),
    BadCredential("wrong-issuer", lambda ehr, issued, stranger: ehr.sign(
        claims_of(issued["access_token"]) | {"iss": "https://ehr.attacker.example/fhir"}), "invalid_token",
        "issuer"),
    BadCredential("wrong-audience", lambda ehr, issued, stranger: ehr.sign(
        claims_of(issued["access_token"]) | {"aud": "https://another-resource-server.example/fhir"}),
        "invalid_token", "aud"),
    BadCredential("id-token", lambda ehr, issued, stranger: issued["id_token"], "invalid_token", "aud"),
    BadCredential("another-key", lambda ehr, issued, stranger: ehr.sign(claims_of(issued["access_token"]), stranger),
                  "invalid_token", "key"),
    BadCredential("another-key-under-the-ehrs-key-id", lambda ehr, issued, stranger: ehr.sign(
        claims_of(issued["access_token"]), stranger, kid=ehr.signing_key().kid), "invalid_token", "signature"),
    BadCredential("alg-none", lambda ehr, issued, stranger: unsigned(claims_of(issued["access_token"])),
                  "invalid_token", "alg must be one of"),
    BadCredential("hs256-keyed-with-the-public-key", lambda ehr, issued, stranger: ehr.hs256_with_public_key(
        claims_of(issued["access_token"])), "invalid_token", "alg must be one of"),
]


@pytest.fixture(scope="module")
def stranger() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


@pytest.mark.parametrize("service", sorted(READ_OWN))
def test_the_ehrs_own_token_and_a_copy_signed_with_its_key_are_accepted(service, stack, smart, tokens: Tokens,
                                                                        patient_ids):
    """The control for every refusal below: those tokens differ from these in one respect only."""
    path = READ_OWN[service].format(mine=patient_ids[MINE])
    issued = tokens.mine[service]["access_token"]
    assert _call(stack, service, "GET", path, issued).status_code == 200
    assert _call(stack, service, "GET", path, smart.sign(claims_of(issued))).status_code == 200


@pytest.mark.parametrize("credential", BAD_CREDENTIALS, ids=[c.name for c in BAD_CREDENTIALS])
@pytest.mark.parametrize("service", sorted(READ_OWN))
def test_a_bearer_token_the_ehr_did_not_issue_this_way_gets_401(service, credential: BadCredential, stack, smart,
                                                                tokens: Tokens, patient_ids, stranger):
    token = credential.token(smart, tokens.mine[service], stranger)
    answer = _call(stack, service, "GET", READ_OWN[service].format(mine=patient_ids[MINE]), token)
    diagnostics = _assert_refused(answer, 401, "login", credential.oauth_error)
    assert credential.because in diagnostics, diagnostics


# -- another patient's records, and a scope the token lacks --------------------------------------------------------
@dataclass(frozen=True)
class RecordCall:
    service: str
    method: str
    path: Callable[[Journey], str]
    body: Callable[[Journey], Any] = lambda journey: None
    resources: tuple[str, ...] = ()  # FHIR types it needs: the refusal names one of them


def _intake(journey: Journey) -> str:
    return journey.intake_ids[journey.patient_mrn]


READS = [
    RecordCall("intake", "GET", lambda j: f"/intakes/{_intake(j)}"),
    RecordCall("orders", "GET", lambda j: f"/orders/{j.order_id}"),
    RecordCall("documentation", "GET", lambda j: f"/sessions/{j.session_id}"),
]
WRITES = [
    RecordCall("intake", "PUT", lambda j: f"/intakes/{_intake(j)}/consent",
               lambda j: ELIGIBLE_PARTS["consent"] | {"decision": "refused"}, ("Consent",)),
    RecordCall("orders", "POST", lambda j: f"/orders/{j.order_id}/hold",
               lambda j: {"by": "Dr Ada Prescriber", "reason": "security test"}, ("MedicationRequest", "CarePlan")),
    RecordCall("documentation", "POST", lambda j: f"/sessions/{j.session_id}/vitals",
               lambda j: vitals(clinical_times(hours_ago=1)(0), 150, 95, 90, reading_id="refused"), ("Observation",)),
]
VOLATILE = ("as_of", "due_readings", "due_cadss")  # computed from the clock at each read


def _record(stack: Stack, read: RecordCall, journey: Journey, token: str) -> dict:
    answer = _call(stack, read.service, read.method, read.path(journey), token)
    assert answer.status_code == 200, answer.text
    return {k: v for k, v in answer.json().items() if k not in VOLATILE}


@pytest.mark.parametrize("read, write", list(zip(READS, WRITES)), ids=[r.service for r in READS])
def test_a_token_for_another_patient_reads_and_writes_none_of_their_records(read: RecordCall, write: RecordCall,
                                                                           stack, tokens: Tokens, journey):
    mine, theirs = tokens.mine[read.service]["access_token"], tokens.theirs_read_only[read.service]["access_token"]
    before = _record(stack, read, journey, theirs)
    for call in (read, write):
        answer = _call(stack, call.service, call.method, call.path(journey), mine, call.body(journey))
        diagnostics = _assert_refused(answer, 403, "forbidden", "insufficient_scope")
        assert "another patient" in diagnostics, diagnostics
    assert _record(stack, read, journey, theirs) == before


@pytest.mark.parametrize("read, write", list(zip(READS, WRITES)), ids=[r.service for r in READS])
def test_a_read_only_token_reads_its_patients_record_but_cannot_write_it(read: RecordCall, write: RecordCall,
                                                                         stack, tokens: Tokens, journey):
    token = tokens.theirs_read_only[read.service]["access_token"]  # patient/*.rs for the journey's patient
    before = _record(stack, read, journey, token)
    answer = _call(stack, write.service, write.method, write.path(journey), token, write.body(journey))
    diagnostics = _assert_refused(answer, 403, "forbidden", "insufficient_scope")
    assert "do not allow" in diagnostics and any(t in diagnostics for t in write.resources), diagnostics
    assert _record(stack, read, journey, token) == before
