"""``make test-hapi`` only: the EHR is a stock HAPI FHIR server with the sandbox in front of it. The sandbox still
serves the SMART endpoints, on its own port, with HAPI's base as the tokens' issuer and audience; the services and the
tests take their backend tokens there; HAPI itself checks no token (a test EHR without auth, deploy/hapi/README.md)."""
from __future__ import annotations

import json
import os

import pytest
import requests
from joserfc import jws

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from tests.support.backend_auth import suite_tokens, service_backend_environment

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.environ.get("KETALINK_TEST_FHIR") != "hapi" or bool(os.environ.get(
                  "EHR_FHIR_BASE_URL")), reason="only under `make test-hapi` (KETALINK_TEST_FHIR=hapi)")]


def _sandbox_root(ehr) -> str:
    return f"http://127.0.0.1:{ehr.process.env['EHR_SANDBOX_PORT']}"


def test_the_sandbox_serves_smart_for_hapi_and_the_tokens_name_hapi(ehr):
    root = _sandbox_root(ehr)
    assert not ehr.base_url.startswith(root)  # the FHIR base is HAPI's, not the sandbox's
    document = requests.get(f"{root}/fhir/.well-known/smart-configuration", timeout=10).json()
    assert document["issuer"] == ehr.base_url
    assert document["token_endpoint"] == f"{root}/smart/token"
    assert document["authorization_endpoint"] == f"{root}/smart/authorize"
    assert "client_credentials" in document["grant_types_supported"]
    tokens = suite_tokens(ehr.base_url)
    assert tokens is not None
    claims = json.loads(jws.extract_compact(tokens.access_token().encode()).payload)
    assert claims["iss"] == ehr.base_url
    assert ehr.base_url in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    assert service_backend_environment("orders", ehr.base_url)["EHR_BACKEND_TOKEN_URL"] == f"{root}/smart/token"


def test_hapi_checks_no_token(ehr):
    """What `make test-hapi` proves is Ketalink against a stock FHIR server; HAPI's access control is not part of it."""
    anonymous = requests.get(f"{ehr.base_url}/Patient", params={"identifier": f"{MRN_SYSTEM}|KL-1001"}, timeout=10)
    assert anonymous.status_code == 200
    assert anonymous.json()["resourceType"] == "Bundle"
    assert requests.get(f"{ehr.base_url}/metadata", timeout=10).json()["software"]["name"].startswith("HAPI")
