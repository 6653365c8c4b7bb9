"""CDS Hooks security against a real orders process (real broker, the EHR sandbox): the EHR's JWT is verified with
keys the test makes, one EHR pinned by a JWKS file and one by a JWKS URL served by a real HTTP server. Forged,
expired, replayed, wrong-audience, unknown-issuer, unsigned, HMAC and foreign-jku tokens get 401 naming the reason;
a good one gets the cards. The SMART session check is on (SMART_AUTH_REQUIRED=true) and does not block the hooks.
CORS for the configured EHR origin only. A fhirServer the EHR is not configured with is never called (SSRF)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.integration.orders.cds_hooks_support import (
    EHR_ORIGIN, PINNED_ISS, URL_ISS, Stack, cds_stack, ec_ehr, hook_request, rsa_ehr, unsigned_token,
)
from tests.integration.orders.support import cpoe_medication_request
from tests.support.kafka_tools import wait_for
from tests.support.prod_model import WEB_WORKERS, prod_model


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with cds_stack(broker, ehr, log_dir, tmp_path_factory.mktemp("cds-security")) as started:
        yield started


@pytest.fixture(scope="module")
def patient_id(ehr) -> str:
    from tests.integration.orders.support import patient_id_for
    return patient_id_for(ehr, "KL-1003")


def _draft(patient_id: str) -> dict[str, Any]:
    return cpoe_medication_request(patient_id) | {"id": "draft-1", "status": "draft"}


def _body(patient_id: str) -> dict[str, Any]:
    """With a complete prefetch of nulls except the patient: the security tests need no EHR read."""
    return hook_request("order-sign", patient_id, [_draft(patient_id)],
                        prefetch={"patient": {"resourceType": "Patient", "id": patient_id, "gender": "female"},
                                  "weight": None, "newerWeights": None, "height": None, "conditions": None,
                                  "medications": None, "eligibility": None, "consent": None, "ketamineOrders": None,
                                  "pregnancyStatus": None})


def _refused(answer: requests.Response, reason: str) -> None:
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["diagnostics"].startswith(f"{reason}:"), body
    assert answer.headers["WWW-Authenticate"].startswith("Bearer error=\"invalid_token\"")


def test_a_good_token_from_a_pinned_key_gets_the_cards(stack: Stack, patient_id: str) -> None:
    answer = stack.call(stack.pinned.token(stack.aud()), _body(patient_id))
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    # No weight and no eligibility decision for this patient: the cards the CPOE check's reasons give, critical.
    topics = {card["summary"] for card in cards}
    assert any("weight" in summary.lower() for summary in topics), topics
    assert any("eligib" in summary.lower() for summary in topics), topics
    assert all(card["indicator"] == "critical" and card["overrideReasons"] for card in cards
               if "eligib" in card["summary"].lower())


def test_a_good_token_from_a_jwks_url_with_its_jku_is_taken_and_the_keys_are_cached(stack: Stack,
                                                                                    patient_id: str) -> None:
    before = len(stack.jwks.hits)
    for _ in range(8):
        answer = stack.call(stack.by_url.token(stack.aud()), _body(patient_id))
        assert answer.status_code == 200, answer.text
    # cached: fetched at most once per web process (gunicorn's workers under make test-prod each keep their own)
    assert len(stack.jwks.hits) - before <= (WEB_WORKERS if prod_model() else 1)


def test_a_token_signed_by_another_key_is_refused(stack: Stack, patient_id: str) -> None:
    forger = ec_ehr(PINNED_ISS, kid=stack.pinned.kid)  # same iss and kid, the forger's own key
    _refused(stack.call(forger.token(stack.aud()), _body(patient_id)), "bad-signature")


def test_an_expired_token_is_refused_past_the_leeway_only(stack: Stack, patient_id: str) -> None:
    now = int(time.time())
    _refused(stack.call(stack.pinned.token(stack.aud(), iat=now - 120, exp=now - 60), _body(patient_id)),
             "expired")
    just = stack.call(stack.pinned.token(stack.aud(), iat=now - 30, exp=now - 1), _body(patient_id))
    assert just.status_code == 200, just.text  # 1 s past exp is inside the 5 s leeway


def test_a_token_issued_in_the_future_is_refused(stack: Stack, patient_id: str) -> None:
    now = int(time.time())
    _refused(stack.call(stack.pinned.token(stack.aud(), iat=now + 120, exp=now + 250), _body(patient_id)),
             "not-yet-valid")


def test_a_replayed_token_is_refused(stack: Stack, patient_id: str) -> None:
    token = stack.pinned.token(stack.aud())
    assert stack.call(token, _body(patient_id)).status_code == 200
    _refused(stack.call(token, _body(patient_id)), "replayed")


def test_a_token_for_another_audience_is_refused(stack: Stack, patient_id: str) -> None:
    _refused(stack.call(stack.pinned.token("https://other-cds.example.test/cds-services/ketamine-order-sign"),
                        _body(patient_id)), "wrong-audience")
    # a token for the order-select service is not one for order-sign
    _refused(stack.call(stack.pinned.token(stack.aud("ketamine-order-select")), _body(patient_id)),
             "wrong-audience")


def test_an_unknown_issuer_is_refused(stack: Stack, patient_id: str) -> None:
    stranger = ec_ehr("https://unknown-ehr.example.test")
    _refused(stack.call(stranger.token(stack.aud()), _body(patient_id)), "untrusted-issuer")


def test_unsigned_and_hmac_tokens_are_refused(stack: Stack, patient_id: str) -> None:
    _refused(stack.call(unsigned_token(stack.aud(), PINNED_ISS), _body(patient_id)), "bad-algorithm")
    secret = OctKey.import_key(json.dumps(stack.pinned.public_jwks()["keys"][0]).encode())
    now = int(time.time())
    hmac = jwt.encode({"alg": "HS256"}, {"iss": PINNED_ISS, "sub": "x", "aud": stack.aud(), "iat": now,
                                         "exp": now + 60, "jti": "hmac-1"}, secret, algorithms=["HS256"])
    _refused(stack.call(hmac, _body(patient_id)), "bad-algorithm")


def test_a_jku_other_than_the_configured_url_is_never_followed(stack: Stack, patient_id: str) -> None:
    attacker = rsa_ehr(URL_ISS)
    attacker.jku = f"{stack.elsewhere.url}/jwks.json"
    before = len(stack.elsewhere.hits)
    _refused(stack.call(attacker.token(stack.aud()), _body(patient_id)), "untrusted-jku")
    # a pinned EHR has no key set URL at all: any jku is refused
    _refused(stack.call(stack.pinned.token(stack.aud(), header={"jku": stack.by_url.jku}), _body(patient_id)),
             "untrusted-jku")
    assert len(stack.elsewhere.hits) == before


def test_no_token_or_another_scheme_is_refused(stack: Stack, patient_id: str) -> None:
    _refused(stack.call(None, _body(patient_id)), "missing-token")
    answer = requests.post(stack.aud(), json=_body(patient_id), timeout=30,
                           headers={"Authorization": f"Basic {stack.pinned.token(stack.aud())}"})
    _refused(answer, "malformed")


def test_a_token_without_jti_is_refused(stack: Stack, patient_id: str) -> None:
    _refused(stack.call(stack.pinned.token(stack.aud(), jti=None), _body(patient_id)), "missing-claim")


def test_a_fhir_server_the_ehr_is_not_configured_with_is_never_called(stack: Stack, patient_id: str) -> None:
    before = len(stack.elsewhere.hits)
    base = f"{stack.elsewhere.url}/fhir"
    body = hook_request("order-sign", patient_id, [_draft(patient_id)], fhir_server=base, token="ehr-token")
    answer = stack.call(stack.pinned.token(stack.aud()), body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["issue"][0]["expression"] == ["fhirServer"]
    assert len(stack.elsewhere.hits) == before


def test_cors_preflight_and_answers_allow_the_configured_origin_only(stack: Stack, patient_id: str) -> None:
    preflight = requests.options(stack.aud(), timeout=10, headers={
        "Origin": EHR_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == EHR_ORIGIN
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    other = requests.options(stack.aud(), timeout=10, headers={
        "Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers
    discovery = requests.get(f"{stack.base_url}/cds-services", headers={"Origin": EHR_ORIGIN}, timeout=10)
    assert discovery.headers["Access-Control-Allow-Origin"] == EHR_ORIGIN
    answer = requests.post(stack.aud(), json=_body(patient_id), timeout=30,
                           headers={"Origin": EHR_ORIGIN,
                                    "Authorization": f"Bearer {stack.pinned.token(stack.aud())}"})
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == EHR_ORIGIN


def test_the_smart_session_check_still_guards_the_app(stack: Stack, patient_id: str) -> None:
    """The hooks are open to the EHR's JWT only; the app's own API still needs a SMART session or token."""
    assert requests.get(f"{stack.base_url}/patients/{patient_id}/eligibility", timeout=10).status_code == 401


def test_a_rotated_key_is_fetched_again_but_unknown_kids_cannot_make_a_fetch_loop(stack: Stack,
                                                                                  patient_id: str) -> None:
    """The EHR rotates its key (new kid at its JWKS URL): tokens with the new kid are taken once the service has
    fetched the set again. Tokens naming kids nobody published make it fetch at most once per MIN_REFETCH_S."""
    from services.orders.cds_hooks.keys import MIN_REFETCH_S

    started, before = time.monotonic(), len(stack.jwks.hits)
    for index in range(6):
        stranger = rsa_ehr(URL_ISS, kid=f"unknown-{index}")
        stranger.jku = stack.by_url.jku
        _refused(stack.call(stranger.token(stack.aud()), _body(patient_id)), "bad-signature")
    workers = WEB_WORKERS if prod_model() else 1  # each web process keeps its own key cache
    assert len(stack.jwks.hits) - before <= workers * (1 + int((time.monotonic() - started) / MIN_REFETCH_S))
    rotated = rsa_ehr(URL_ISS, kid="rsa-2")
    rotated.jku = stack.by_url.jku
    stack.jwks.document = rotated.public_jwks()

    def taken() -> bool:
        return stack.call(rotated.token(stack.aud()), _body(patient_id)).status_code == 200

    wait_for(taken, timeout_s=60, interval_s=1.0, what="a token with the rotated key to be taken")


def test_refusals_are_counted_by_reason_on_metrics(stack: Stack, patient_id: str) -> None:
    def count(reason: str) -> float:
        text = requests.get(f"{stack.base_url}/metrics", timeout=10).text
        line = next((row for row in text.splitlines()
                     if row.startswith(f'ketalink_cds_auth_refusals_total{{reason="{reason}"}}')), None)
        return float(line.split()[-1]) if line else 0.0

    before = count("wrong-audience")
    _refused(stack.call(stack.pinned.token("https://elsewhere.example.test/x"), _body(patient_id)), "wrong-audience")
    assert count("wrong-audience") == before + 1
