"""SMART Backend Services against the real sandbox: its FHIR API refuses anonymous requests; a registered backend
client gets a token by client_credentials with a private_key_jwt assertion (shared/smart/backend.py), renewed before it
expires; bad assertions are refused; and the services' own EHR reads carry their token."""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from authlib.common.security import generate_token
from joserfc import jwt
from joserfc.jwk import ECKey

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from services.orders.bootstrap import build as build_orders
from shared.events.kafka_clients import KafkaSettings
from shared.fhir.client import FhirClient
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.smart.backend import BackendAuthSettings, BackendTokens
from tests.support.backend_auth import TEST_CLIENT_ID, backend_key_path, backend_tokens, service_tokens
from tests.support.processes import ehr_sandbox

pytestmark = pytest.mark.integration
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SHORT_LIFETIME_S = 6
RENEW_MARGIN_S = 2


def _token_endpoint(base_url: str) -> str:
    return requests.get(f"{base_url}/.well-known/smart-configuration", timeout=10).json()["token_endpoint"]


def _assertion(key: ECKey, client_id: str, audience: str, *, expires_in_s: int = 240, jti: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + expires_in_s,
              "jti": jti or generate_token(24)}
    return jwt.encode({"alg": "ES384", "kid": key.thumbprint(), "typ": "JWT"}, claims, key, algorithms=["ES384"])


def _ask(token_url: str, assertion: str, scope: str = "system/*.rs") -> requests.Response:
    return requests.post(token_url, timeout=10, data={
        "grant_type": "client_credentials", "scope": scope, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion})


@pytest.fixture(scope="module")
def short_lived_ehr(log_dir: Path, broker, tmp_path_factory: pytest.TempPathFactory):
    """A sandbox of its own whose backend tokens last six seconds (no integration engine: nothing to apply)."""
    process, base_url = ehr_sandbox(log_dir, tmp_path_factory.mktemp("short-ehr"), broker.bootstrap,
                                    extra_env={"EHR_SANDBOX_RUN_ENGINE": "false",
                                               "EHR_SANDBOX_SMART_BACKEND_TOKEN_LIFETIME_S": str(SHORT_LIFETIME_S)},
                                    name="ehr-short-tokens")
    process.start()
    yield base_url
    process.stop()


def test_the_fhir_api_refuses_an_anonymous_request_but_not_discovery(ehr):
    for path in ("Patient", f"Patient?identifier={MRN_SYSTEM}|KL-1001", "_history"):
        answer = requests.get(f"{ehr.base_url}/{path}", timeout=10)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["resourceType"] == "OperationOutcome"
    forged = requests.get(f"{ehr.base_url}/Patient", headers={"Authorization": "Bearer not-a-token"}, timeout=10)
    assert forged.status_code == 401
    assert requests.get(f"{ehr.base_url}/metadata", timeout=10).status_code == 200
    document = requests.get(f"{ehr.base_url}/.well-known/smart-configuration", timeout=10).json()
    assert "client_credentials" in document["grant_types_supported"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert "system/*.rs" in document["scopes_supported"]


def test_a_backend_client_reads_with_its_token_and_a_read_only_token_cannot_write(ehr):
    orders = service_tokens("orders", ehr.base_url)
    assert orders is not None
    client = FhirClient(ehr.base_url, tokens=orders)
    assert client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1001"})
    claims = jwt.decode(orders.access_token(), _sandbox_keys(ehr.base_url)).claims
    assert claims["client_id"] == "ketalink-orders-backend" and claims["scope"] == "system/*.rs"
    write = requests.post(f"{ehr.base_url}/Patient", json={"resourceType": "Patient"}, timeout=10,
                          headers={"Authorization": f"Bearer {orders.access_token()}",
                                   "Content-Type": "application/fhir+json"})
    assert write.status_code == 403 and write.json()["resourceType"] == "OperationOutcome"


def _sandbox_keys(base_url: str):
    from joserfc.jwk import KeySet

    jwks_uri = requests.get(f"{base_url}/.well-known/smart-configuration", timeout=10).json()["jwks_uri"]
    return KeySet.import_key_set(requests.get(jwks_uri, timeout=10).json())


def test_bad_assertions_are_refused(ehr):
    token_url = _token_endpoint(ehr.base_url)
    key = ECKey.import_key(backend_key_path(ehr.base_url, TEST_CLIENT_ID).read_bytes())
    assert _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url)).status_code == 200  # the same, well made
    stranger = ECKey.generate_key("P-384", private=True)
    refusals = {
        "wrong key": _ask(token_url, _assertion(stranger, TEST_CLIENT_ID, token_url)),
        "expired": _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url, expires_in_s=-120)),
        "longer than five minutes": _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url, expires_in_s=3600)),
        "another audience": _ask(token_url, _assertion(key, TEST_CLIENT_ID, f"{ehr.base_url}/token")),
        "unknown client": _ask(token_url, _assertion(key, "nobody-registered", token_url)),
    }
    jti = generate_token(24)
    assert _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url, jti=jti)).status_code == 200
    refusals["reused jti"] = _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url, jti=jti))
    for case, answer in refusals.items():
        assert answer.status_code in (400, 401), (case, answer.status_code, answer.text)
        assert answer.json()["error"] == "invalid_client", (case, answer.text)
        assert "access_token" not in answer.json()
    user_scope = _ask(token_url, _assertion(key, TEST_CLIENT_ID, token_url), scope="user/*.rs")
    assert user_scope.status_code == 400 and user_scope.json()["error"] == "invalid_scope"


def test_the_token_is_renewed_before_it_expires_and_a_refused_token_is_replaced(short_lived_ehr):
    tokens = backend_tokens(short_lived_ehr, settings=BackendAuthSettings(renew_margin_s=RENEW_MARGIN_S))
    client = FhirClient(short_lived_ehr, tokens=tokens)
    asked_at = time.time()
    first = tokens.access_token()
    expires_at = jwt.decode(first, _sandbox_keys(short_lived_ehr)).claims["exp"]
    assert expires_at - asked_at <= SHORT_LIFETIME_S + 1
    assert client.search("Patient", {"_count": "1"}) and tokens.access_token() == first  # cached
    time.sleep(max(0.0, asked_at + SHORT_LIFETIME_S - RENEW_MARGIN_S + 0.2 - time.time()))  # past the renewal point
    renewed = tokens.access_token()
    assert renewed != first and time.time() < expires_at and tokens.fetched == 2  # before the first one expired
    assert client.search("Patient", {"_count": "1"})
    time.sleep(max(0.0, expires_at + 1 - time.time()))  # the first token has expired now: the sandbox refuses it
    assert requests.get(f"{short_lived_ehr}/Patient", headers={"Authorization": f"Bearer {first}"},
                        timeout=10).status_code == 401

    class HandsOutAnExpiredTokenFirst(BackendTokens):
        """A cache that still holds a token the EHR no longer takes (revoked, keys rotated)."""

        stale: str | None = first

        def access_token(self) -> str:
            return self.stale or super().access_token()

        def forget(self, access_token: str) -> None:
            self.stale = None
            super().forget(access_token)

    stale = HandsOutAnExpiredTokenFirst(replace(tokens.settings), TEST_CLIENT_ID, short_lived_ehr)
    assert FhirClient(short_lived_ehr, tokens=stale).search("Patient", {"_count": "1"})
    assert stale.stale is None and stale.fetched == 1


def test_the_services_own_reads_carry_its_backend_token(ehr, tmp_path, monkeypatch):
    """The dose preview reads weight, height and sex with the service's own token; without one the EHR refuses."""
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "false")
    monkeypatch.setenv("KETALINK_LOCAL_RUN", "true")
    patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1001"})[0]["id"]
    answers = {}
    for label, tokens in (("with", service_tokens("orders", ehr.base_url)), ("without", None)):
        runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / f'{label}.db'}",
                                                           ehr_fhir_base_url=ehr.base_url), KafkaSettings(),
                                 ehr_tokens=tokens)
        app, _handlers, _responses = build_orders(runtime)
        answers[label] = app.test_client().post("/dose-preview", json={"patient_id": patient_id})
    assert answers["with"].status_code == 200, answers["with"].data
    assert answers["with"].json["calculation"]["weight"]["value_kg"] > 0  # read from the EHR
    assert answers["without"].status_code == 502 and "HTTP 401" in answers["without"].get_data(as_text=True)
