"""A SMART-configured EHR sandbox process (short token lifetime, the test apps registered) and the test apps, each
a real HTTP server on a free port, started once for these tests.

The session's ``ehr`` fixture runs the sandbox with its default settings (the three services' registrations and
hour-long tokens); these tests need a token that expires within seconds and apps on ports chosen here, so they
start the same sandbox program with those settings (no integration engine: no broker needed)."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
from joserfc.jwk import RSAKey

from deploy.local.ports import free_port
from shared.smart import SmartSettings
from shared.smart.settings import BearerValidation, ScopeVersion
from tests.integration.smart.support import Browser, RunningApp, create_test_app, serve
from tests.support.backend_auth import bearer_headers, sandbox_backend_environment
from tests.support.processes import ManagedProcess, base_environment

TOKEN_LIFETIME_S = 4
PASSWORD = "test-password"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass
class SmartEhr:
    root: str  # http://127.0.0.1:<port>
    fhir_base_url: str
    process: ManagedProcess

    def patient_ids(self) -> list[str]:
        bundle = requests.get(f"{self.fhir_base_url}/Patient", params={"_count": "100"}, timeout=10,
                              headers=bearer_headers(self.fhir_base_url)).json()
        mrn_system = "https://ehr-sandbox.example.org/fhir/identifier/mrn"
        patients = [(next(i["value"] for i in e["resource"]["identifier"] if i["system"] == mrn_system),
                     e["resource"]["id"]) for e in bundle.get("entry", [])]
        return [patient_id for _mrn, patient_id in sorted(patients)]


@dataclass(frozen=True)
class AppSpec:
    client_id: str
    settings: SmartSettings
    registration: dict


def _app_specs(ports: dict[str, int], key_path: Path, public_jwk: dict) -> dict[str, AppSpec]:
    base = SmartSettings(refresh_margin_s=1, clock_skew_s=0, http_timeout_s=10, landing_path="/smart/session")
    narrow_scopes = "openid fhirUser online_access patient/Observation.rs patient/Patient.rs"
    specs = {
        "public": (base, {}),
        "narrow": (replace(base, scopes=f"launch {narrow_scopes}", standalone_scopes=f"launch/patient {narrow_scopes}"),
                   {}),
        "secret": (replace(base, client_secret=CLIENT_SECRET, bearer_validation=BearerValidation.INTROSPECTION),
                   {"client_secret": CLIENT_SECRET}),
        "jwt": (replace(base, private_key_path=str(key_path)), {"jwks": {"keys": [public_jwk]}}),
        "short": (replace(base, session_lifetime_s=3), {}),
        "v1": (replace(base, scope_version=ScopeVersion.V1, scopes="launch openid fhirUser online_access patient/*.rs"),
               {}),
        "user": (replace(base, scopes="launch openid fhirUser online_access user/*.cruds",  # not patient-level
                         standalone_scopes="openid fhirUser online_access user/*.cruds"), {}),
    }
    apps = {}
    for name, (settings, extra) in specs.items():
        url = f"http://127.0.0.1:{ports[name]}"
        client_id = f"smart-test-{name}"
        apps[name] = AppSpec(client_id, settings, {
            "client_id": client_id, "name": f"Test app {name}", "launch_url": f"{url}/launch",
            "redirect_uris": [f"{url}/callback"], **extra})
    return apps


@pytest.fixture(scope="package")
def smart_setup(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SmartEhr, dict]]:
    data_dir = tmp_path_factory.mktemp("smart-ehr")
    key = RSAKey.generate_key(2048, private=True)
    key_path = data_dir / "client-key.pem"
    key_path.write_bytes(key.as_pem(private=True))
    public_jwk = key.as_dict(private=False) | {"kid": key.thumbprint(), "alg": "RS384"}
    names = ("public", "narrow", "secret", "jwt", "short", "v1", "user")
    ports = {name: free_port() for name in names}
    specs = _app_specs(ports, key_path, public_jwk)

    port = free_port()
    env = base_environment() | {
        "EHR_SANDBOX_PORT": str(port), "EHR_SANDBOX_DATA_DIR": str(data_dir / "ehr"),
        "EHR_SANDBOX_RUN_ENGINE": "false", "EHR_SANDBOX_SMART_TOKEN_LIFETIME_S": str(TOKEN_LIFETIME_S),
        "EHR_SANDBOX_SMART_DEMO_PASSWORD": PASSWORD,
        "EHR_SANDBOX_SMART_APPS": json.dumps([spec.registration for spec in specs.values()]),
        **sandbox_backend_environment(f"http://127.0.0.1:{port}/fhir", data_dir / "ehr"),
    }
    log_path = log_dir / "smart-ehr.log"
    start_offset = log_path.stat().st_size if log_path.exists() else 0

    def ready() -> bool:
        with open(log_path, "rb") as log:
            log.seek(start_offset)
            return b'"ehr sandbox ready"' in log.read()

    process = ManagedProcess("smart-ehr", [sys.executable, "-m", "deploy.ehr_sandbox"], env, log_dir, ready)
    process.start()
    ehr = SmartEhr(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/fhir", process)
    running: dict[str, RunningApp] = {}
    for name, spec in specs.items():
        app, smart = create_test_app(data_dir / f"app-{name}.db", spec.settings, spec.client_id, ehr.fhir_base_url)
        running[name] = serve(app, smart, ports[name], spec.client_id)
    yield ehr, running
    for app in running.values():
        app.stop()
    process.stop()


@pytest.fixture(scope="package")
def smart_ehr(smart_setup: tuple[SmartEhr, dict]) -> SmartEhr:
    return smart_setup[0]


@pytest.fixture(scope="package")
def apps(smart_setup: tuple[SmartEhr, dict]) -> dict[str, RunningApp]:
    return smart_setup[1]


@pytest.fixture()
def browser() -> Browser:
    return Browser()
