"""Browser tests: Debian's Chromium driven by Playwright for Python, against the EHR sandbox with its SMART
authorization server and the three services with SMART auth required, all as real local processes.

Every app registration in the sandbox points at the port its service runs on, so the chart page's launch buttons
work exactly as an EHR's do. Screenshots go to test-artifacts/screenshots/."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests

from deploy.ehr_sandbox.order_entry.settings import CDS_CLIENT_JWKS_PATH
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from deploy.local.ports import free_port
from tests.integration.smart.support import Browser, query_of
from shared.fhir.client import FhirClient
from tests.support.backend_auth import ehr_client
from tests.support.processes import ManagedProcess, ehr_sandbox, service, tansu_broker

SERVICES = ("intake", "orders", "documentation")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_PASSWORD = "ketalink-sandbox"
# QIDS-SR16 is scheduled and linkable from the test placeholder Questionnaire (no real wording: test_patient_link.py)
QIDS_SR16_TEST_QUESTIONNAIRE = Path(__file__).resolve().parents[1] / "fixtures" / \
    "qids_sr16_test_placeholder_questionnaire.json"


@dataclass
class SmartStack:
    ehr_base_url: str
    chart_url: str
    services: dict[str, str]  # name → base URL
    processes: dict[str, ManagedProcess]
    bootstrap: str
    services_data_dir: Path  # each service's SQLite database: <name>.db

    @property
    def ehr_client(self) -> FhirClient:
        """The sandbox's FHIR API with the tests' backend token."""
        return ehr_client(self.ehr_base_url)

    @property
    def ehr_root(self) -> str:
        """The sandbox's web root (its SMART authorization server and chart page), without ``/fhir``."""
        return self.ehr_base_url.rsplit("/fhir", 1)[0]

    def patient_id(self, mrn: str) -> str:
        """The EHR's Patient id of a seeded patient (MRN KL-1001..KL-1004)."""
        return self.ehr_client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{mrn}"})[0]["id"]


def chromium_path() -> str:
    path = os.environ.get("KETALINK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: `make test` installs Debian's package (apt-get install chromium); "
                    "or set KETALINK_CHROMIUM to a Chromium binary", pytrace=False)
    return path


@pytest.fixture(scope="session")
def smart_stack(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartStack]:
    """A stack of its own, broker included: its services must not read the same topics as the integration
    tests' service instances (two intakes would both take the same referral)."""
    broker_process, bootstrap = tansu_broker(log_dir)
    broker_process.start()
    ports = {name: free_port() for name in SERVICES}
    extra = {f"{name.upper()}_PORT": str(port) for name, port in ports.items()}
    extra["EHR_SANDBOX_SMART_DEMO_PASSWORD"] = DEMO_PASSWORD
    sandbox, ehr_base_url = ehr_sandbox(log_dir, tmp_path_factory.mktemp("smart-ehr"), bootstrap,
                                        extra_env=extra, name="ehr-smart")
    started: dict[str, ManagedProcess] = {"broker": broker_process, "ehr": sandbox.start()}
    urls: dict[str, str] = {}
    data_dir = tmp_path_factory.mktemp("smart-services")
    try:
        root = ehr_base_url.rsplit("/fhir", 1)[0]
        # orders trusts the sandbox's order entry as a CDS client: its iss (the web root) and key set URL
        jwks_url = f"{root}{CDS_CLIENT_JWKS_PATH}"
        cds_client = {"ORDERS_CDS_TRUSTED_ISSUERS": json.dumps({root: {"jwks_url": jwks_url}})}
        # the suite board opens through its own launch (/launch/user/board, default scopes); it refreshes often here
        board = {"DOCUMENTATION_BOARD_REFRESH_S": "5", "DOCUMENTATION_STATUS_STRIP_REFRESH_S": "5"}
        patient_reports = {"ORDERS_COURSE_PRO_SCALES": "phq-9,qids-sr16",
                           "ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE": str(QIDS_SR16_TEST_QUESTIONNAIRE)}
        for name in SERVICES:
            process, base_url = service(name, log_dir, data_dir, bootstrap, ehr_base_url,
                                        {"SMART_AUTH_REQUIRED": "true", "SMART_ALLOWED_ISSUERS": ehr_base_url,
                                         **(cds_client | patient_reports if name == "orders" else {}),
                                         **(board if name == "documentation" else {})},
                                        port=ports[name])
            started[name] = process.start()
            urls[name] = base_url
        yield SmartStack(ehr_base_url, f"{root}/chart", urls, started, bootstrap, data_dir)
    finally:
        for process in reversed(list(started.values())):
            process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def launch_from_chart(page, stack: SmartStack, app: str, patient_id: str, user: str) -> None:
    """Chart → the patient's launch button for ``app`` (intake, orders, documentation) → EHR sign-in as ``user``
    → approve → the app's home page."""
    page.goto(stack.chart_url)
    page.locator(f'tr[data-patient-id="{patient_id}"] button[data-launch="ketalink-{app}"]').click()
    page.wait_for_url("**/smart/login**")
    page.get_by_label("User").select_option(user)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/smart/authorize**")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{stack.services[app]}/")


def sandbox_token(stack: SmartStack, app: str, patient_id: str, scope: str, *, user: str,
                  ehr_launch: bool = False) -> str:
    """A real access token for ``app``'s public client from the sandbox's authorization-code flow (PKCE), asking
    for exactly ``scope``: how a narrower grant than the app's own is obtained. A standalone launch where ``user``
    picks ``patient_id`` on the approval page, or with ``ehr_launch`` a launch from that patient's chart (the
    ``launch`` scope then binds the patient)."""
    client_id = f"ketalink-{app}"
    redirect_uri = f"{stack.services[app]}/callback"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    browser = Browser()
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
             "state": secrets.token_urlsafe(16), "aud": stack.ehr_base_url, "code_challenge": challenge,
             "code_challenge_method": "S256"}
    chosen = {"patient": patient_id}
    if ehr_launch:
        launched = browser.submit(browser.get(stack.chart_url), where={"patient": patient_id, "app": client_id},
                                  allow_redirects=False)
        query["launch"], chosen = query_of(launched.headers["Location"])["launch"], {}
    page = browser.get(f"{stack.ehr_root}/smart/authorize?{urlencode(query)}")
    if "/smart/login" in page.url:
        page = browser.submit(page, values={"username": user, "password": DEMO_PASSWORD})
    answer = browser.submit(page, button="approve", values=chosen, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    code = query_of(answer.headers["Location"])["code"]
    token = requests.post(f"{stack.ehr_root}/smart/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
        "code_verifier": verifier})
    assert token.status_code == 200, token.text
    assert token.json()["patient"] == patient_id
    return token.json()["access_token"]
