"""Issue 8: schemathesis drives every operation of the three services' OpenAPI documents with generated requests,
valid and invalid (its coverage and fuzzing phases), against the services as real processes with the EHR sandbox
behind them. Every answer must: not be a 5xx; conform to what the document declares (status, content type, schema,
the ``Allow`` of a 405); when it refuses (4xx), be a FHIR OperationOutcome that says why, and leave the service's
database exactly as it was. The services run without their worker here, so nothing else writes to the database."""
from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from shared.api import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH
from shared.fhir.messaging import parse_message
from tests.fuzz.campaign import CAMPAIGN
from tests.fuzz.conftest import RunningService, changed_tables, database_state
from tests.integration.orders.cds_hooks_support import SigningEhr
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration

CONFIG = SchemathesisConfig.from_dict({
    "seed": CAMPAIGN.seed,
    # make test: deterministic = Hypothesis' derandomize, the same requests on every run, so CI is reproducible;
    # make fuzz: a fresh seed and more examples (tests/fuzz/campaign.py).
    # No generated Authorization header or session cookie: with sign-in off (below) a made-up token would still
    # be checked, and refused with 401 before the request reaches the domain.
    "generation": {"mode": "all", "max-examples": CAMPAIGN.examples, "deterministic": CAMPAIGN.deterministic,
                   "with-security-parameters": False},
    "phases": {"examples": {"enabled": False}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": CAMPAIGN.stateful},  # make fuzz: sequences along the documents' links
               # Each missing field, wrong type and out-of-range value once; an undeclared method once per path.
               "coverage": {"enabled": True, "generation": {"mode": "negative"}, "unexpected-methods": ["DELETE"]}},
    # The document gives types and required fields; the services also check meaning (a patient the EHR does not
    # know, a blank name after stripping, an id that is not a FHIR id) and refuse those with a 4xx, rightly.
    "checks": {"positive_data_acceptance": {"enabled": False},
               # The services run here with sign-in off (a local run) so that generated requests reach the domain;
               # that every operation refuses a request without a token or session is tests/security's and
               # tests/integration/smart's part.
               "ignored_auth": {"enabled": False}},
})


@pytest.fixture(scope="module", params=("intake", "orders", "documentation"))
def api(request: pytest.FixtureRequest, web_only_services: dict[str, RunningService]) -> RunningService:
    return web_only_services[request.param]


@pytest.fixture(scope="module")
def known_ids(api: RunningService, seeded_patient_id: str, order_signed: dict[str, Any]) -> dict[str, str]:
    """Ids of things that exist, put into half of the generated requests so those get past "not found" and into
    the domain's checks: the seeded patient and, per service, an intake; a signed order and its course; a session
    of the signed order documentation was told about."""
    ids = {"patient_id": seeded_patient_id}
    if api.name == "intake":
        ids["intake_id"] = _created(api, "/intakes", {"patient_id": seeded_patient_id,
                                                      "started_by": "Dr Fuzz"})["intake_id"]
    elif api.name == "orders":
        order_id = _created(api, "/orders", {"patient_id": seeded_patient_id, "created_by": "Dr Fuzz",
                                             "start_date": clinic_today().isoformat()})["order_id"]
        _created(api, f"/orders/{order_id}/sign", {"signed_by": "Dr Fuzz", "attested": True}, status=200)
        course = requests.get(f"{api.base_url}/patients/{seeded_patient_id}/course", timeout=15)
        assert course.status_code == 200, course.text
        ids.update(order_id=order_id, course_id=course.json()["course_id"])
    else:
        order_id = parse_message(order_signed).first("MedicationRequest")["identifier"][0]["value"]
        ids["session_id"] = f"{order_id}-1"
        assert requests.get(f"{api.base_url}/sessions/{ids['session_id']}", timeout=15).status_code == 200
    return ids


def _created(api: RunningService, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = requests.post(f"{api.base_url}{path}", json=body, timeout=15)
    assert response.status_code == status, f"POST {path}: {response.status_code} {response.text}"
    return response.json()


@pytest.fixture(scope="module")
def api_schema(api: RunningService):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{api.base_url}/openapi.json", config=CONFIG, timeout=10)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's ``from_fixture`` renames each operation's subtest through ``Node._nodeid``, which
    pytest 9 no longer has; give the test item one so the lazy schema runs (reporting keeps pytest's node id)."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_generated_requests(case: Any, api: RunningService, known_ids: dict[str, str],
                            cds_client: SigningEhr) -> None:
    _use_known_ids(case, known_ids)
    _distinct_idempotency_key(case)
    _signed_by_the_ehr(case, api, cds_client)
    before = database_state(api.database)
    response = case.call(timeout=20)
    case.validate_response(response)  # no 5xx; status, content type, schema and headers as documented
    if _cds_call(case):
        assert response.status_code != 401, f"the EHR's JWT was refused, the body never judged: {response.text}"
    if 400 <= response.status_code < 500:
        _assert_refusal_says_why(response)
        after = database_state(api.database)
        changed = [table for table in changed_tables(before, after) if table not in USED_TOKENS]
        assert not changed, (f"{case.method} {case.formatted_path} answered {response.status_code} but changed "
                             f"{changed}: a refused request must write nothing")


#: Where a clinician starts with a patient: the lists whose answers name the patient's records.
ENTRY_LISTS = {"intake": ("/patients/{patient_id}/intakes",),
               "orders": ("/patients/{patient_id}/series", "/patients/{patient_id}/course"),
               "documentation": ("/patients/{patient_id}/sessions",)}


@pytest.mark.skipif(not CAMPAIGN.stateful, reason="the stateful phase runs under make fuzz (KETALINK_FUZZ=1)")
def test_linked_sequences(api: RunningService, known_ids: dict[str, str], cds_client: SigningEhr) -> None:
    """Schemathesis' stateful phase: sequences of calls that follow the document's links, each answer's ids feeding
    the next call (an intake created, then its parts recorded and decided; a patient's sessions, then a reading).
    Every answer: no 5xx, as documented, and a refusal says why."""
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json", config=CONFIG, timeout=10)
    answered: Counter[str] = Counter()

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            """Each scenario starts from the known patient's lists too (schemathesis starts only from creating
            POSTs and GETs without path parameters): their answers' ids feed the links to the records."""
            for path in ENTRY_LISTS[api.name]:
                case = schema[path]["GET"].Case(path_parameters={"patient_id": known_ids["patient_id"]})
                self.recorder.record_case(case=case)  # as schemathesis records a step it drew itself
                self.control.record_step(StepInput.initial(case), self.recorder)
                response = case.call(timeout=20)
                self.after_call(response, case)
                self.validate_response(response, case)
                self._add_results_to_targets((), [StepOutput(response, case)])

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            answered[f"{case.operation.label} {response.status_code}"] += 1

        def before_call(self, case: Any) -> None:
            # The patient whose records exist, so a sequence that starts at a patient's list finds them to follow.
            if "patient_id" in (case.path_parameters or {}):
                case.path_parameters = {**case.path_parameters, "patient_id": known_ids["patient_id"]}
            _distinct_idempotency_key(case)
            _signed_by_the_ehr(case, api, cds_client)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            super().validate_response(response, case, additional_checks=additional_checks, **kwargs)
            if 400 <= response.status_code < 500:
                _assert_refusal_says_why(response)

    hypothesis.seed(CAMPAIGN.seed)(Sequences)
    Sequences.run(settings=hypothesis.settings(
        max_examples=CAMPAIGN.scenarios, stateful_step_count=CAMPAIGN.steps, deadline=None, database=None,
        suppress_health_check=list(hypothesis.HealthCheck)))
    linked = sum(count for key, count in answered.items()
                 if key.split()[-1].startswith("2") and "{" in key.replace("{patient_id}", ""))
    print(f"\n{api.name}: {sum(answered.values())} calls in sequences, {linked} answered 2xx on an operation "
          f"that takes an id the service issued; by operation and status: {dict(sorted(answered.items()))}")
    assert linked, "no sequence reached a record through a link"


#: A CDS Hooks call's ``jti`` is kept once its JWT is verified, also when the body is then refused: a token is used
#: once whatever happens to its request (replay protection), so that table may change with a refusal.
USED_TOKENS = ("cds_jtis",)


def _cds_call(case: Any) -> bool:
    """A CDS Hooks hook or feedback call (the EHR's JWT, not SMART)."""
    return case.method.upper() == "POST" and case.formatted_path.startswith("/cds-services/")


def _signed_by_the_ehr(case: Any, api: RunningService, cds_client: SigningEhr) -> None:
    """A hook or feedback call gets a fresh JWT of the trusted EHR for the URL called (a new ``jti`` each time), as
    the EHR's order entry sends it, so the generated body is what the service judges. Refusals of bad tokens are
    tests/integration/orders/test_cds_hooks_security.py's part."""
    if _cds_call(case):
        token = cds_client.token(f"{api.base_url}{case.formatted_path}")
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


def _distinct_idempotency_key(case: Any) -> None:
    """Generated keys repeat ("0", "a"...), and a repeated key rightly replays the first answer whatever the body;
    a key made distinct per request content keeps each request its own (a key over the limit stays as it is)."""
    key = case.headers.get(IDEMPOTENCY_HEADER) if case.headers else None
    if isinstance(key, str) and len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        digest = hashlib.sha256(repr((case.method, case.path_parameters, case.body)).encode()).hexdigest()[:16]
        case.headers = {**case.headers, IDEMPOTENCY_HEADER: f"{key[:IDEMPOTENCY_KEY_MAX_LENGTH - 17]}-{digest}"}


def _use_known_ids(case: Any, known_ids: dict[str, str]) -> None:
    """In about half of the requests (chosen by the request's own content, so runs repeat), replace generated ids
    with ones that exist."""
    if zlib.crc32(repr((case.path_parameters, case.body)).encode()) % 2:
        return
    for name, value in known_ids.items():
        # Assigned anew (not edited in place) so schemathesis re-classifies the request as valid or invalid.
        if name in (case.path_parameters or {}):
            case.path_parameters = {**case.path_parameters, name: value}
        if isinstance(case.body, dict) and name in case.body:
            case.body = {**case.body, name: value}


def _assert_refusal_says_why(response: requests.Response) -> None:
    try:
        outcome = response.json()
    except ValueError:
        raise AssertionError(f"a {response.status_code} without a JSON body: {response.text[:200]!r}") from None
    assert isinstance(outcome, dict) and outcome.get("resourceType") == "OperationOutcome", outcome
    issues = outcome.get("issue") or []
    assert issues and all((issue.get("diagnostics") or "").strip() for issue in issues), \
        f"a {response.status_code} whose OperationOutcome does not say why: {outcome}"
