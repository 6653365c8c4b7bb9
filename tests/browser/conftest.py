"""Browser tests: Debian's Chromium driven by Playwright for Python, against the EHR sandbox with its SMART
authorization server and the three services with SMART auth required, all as real local processes.

Every app registration in the sandbox points at the port its service runs on, so the chart page's launch buttons
work exactly as an EHR's do. Screenshots go to test-artifacts/screenshots/."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local.ports import free_port
from tests.support.processes import ManagedProcess, ehr_sandbox, service, tansu_broker

SERVICES = ("intake", "orders", "documentation")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_PASSWORD = "ketalink-sandbox"


@dataclass
class SmartStack:
    ehr_base_url: str
    chart_url: str
    services: dict[str, str]  # name → base URL
    processes: dict[str, ManagedProcess]
    bootstrap: str

    @property
    def ehr_client(self):
        from shared.fhir.client import FhirClient

        return FhirClient(self.ehr_base_url)


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
        for name in SERVICES:
            process, base_url = service(name, log_dir, data_dir, bootstrap, ehr_base_url,
                                        {"SMART_AUTH_REQUIRED": "true", "SMART_ALLOWED_ISSUERS": ehr_base_url},
                                        port=ports[name])
            started[name] = process.start()
            urls[name] = base_url
        root = ehr_base_url.rsplit("/fhir", 1)[0]
        yield SmartStack(ehr_base_url, f"{root}/chart", urls, started, bootstrap)
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
