"""One stack for the security tests: the three services as real processes with SMART required, against the session's
broker and EHR sandbox, the bearer tokens the EHR issued for them, and one journey through every service driven with
such a token. The token tests, the audit check and the log scan all use the same stack and journey.

When the session's EHR has no SMART authorization server (HAPI FHIR from testcontainers, an external EHR), the
services run without SMART, the journey goes without a token and the token tests are skipped."""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM, SEED_PATIENTS
from deploy.ehr_sandbox.smart.settings import default_apps
from tests.security.journey import Caller, Journey, run_journey
from tests.security.smart_tokens import EhrAuthorization
from tests.support.processes import ManagedProcess, service

SERVICES = ("intake", "orders", "documentation")
MINE, THEIRS = "KL-1001", "KL-1002"  # token tests: the token's patient, and the journey's patient it must not reach
#: Who may take the outcomes export on this stack: physicians (the sandbox's dr.okoye, not nurse.ng), so that the
#: export's role check is tested against the EHR's PractitionerRole with the demo clinicians.
EXPORT_ROLE = "http://snomed.info/sct|309343006"


@dataclass(frozen=True)
class Stack:
    urls: dict[str, str]  # service name → base URL


@dataclass(frozen=True)
class Tokens:
    """Access tokens the EHR issued (raw token responses), per service: each is issued to that service's client
    (a service refuses tokens issued to another client)."""

    mine: dict[str, dict]  # patient/*.cruds for MINE
    theirs_read_only: dict[str, dict]  # patient/*.rs for THEIRS


@pytest.fixture(scope="package")
def ehr_auth(ehr) -> EhrAuthorization | None:
    return EhrAuthorization.of_sandbox(ehr.base_url, ehr.process.env if ehr.process else {})


@pytest.fixture(scope="package")
def smart(ehr_auth: EhrAuthorization | None) -> EhrAuthorization:
    if ehr_auth is None:
        pytest.skip("the session's EHR has no SMART authorization server (HAPI FHIR or an external EHR)")
    return ehr_auth


@pytest.fixture(scope="package")
def stack(broker, ehr, ehr_auth, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Each consumer group starts at the end of its topics (the broker is shared with other tests). Each service
    names the ``redirect_uri`` the sandbox registered for it (``SMART_PUBLIC_BASE_URL``), so that a launch from the
    chart gives it a real session (``tests/security/sessions.py``)."""
    data_dir = tmp_path_factory.mktemp("security")
    smart_required = ehr_auth is not None
    registered = {app.client_id.removeprefix("ketalink-"): app.launch_url.removesuffix("/launch")
                  for app in default_apps(ehr.process.env if ehr.process else {})}
    started: dict[str, ManagedProcess] = {}
    urls: dict[str, str] = {}
    try:
        for name in SERVICES:
            process, urls[name] = service(name, log_dir, data_dir, broker.bootstrap, ehr.base_url, label="security",
                                          extra_env={"SMART_AUTH_REQUIRED": "true" if smart_required else "false",
                                                     "SMART_PUBLIC_BASE_URL": registered[name],
                                                     "ORDERS_COURSE_EXPORT_ROLE_CODES": EXPORT_ROLE})
            started[name] = process.start()
        yield Stack(urls)
    finally:
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as stopping:  # each waits for its consumer to let go
            list(stopping.map(ManagedProcess.stop, started.values()))


@pytest.fixture(scope="package")
def patient_ids(ehr) -> dict[str, str]:
    """MRN → EHR Patient id of the seeded patients."""
    return {patient.mrn: ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|{patient.mrn}"})[0]["id"]
            for patient in SEED_PATIENTS}


@pytest.fixture(scope="package")
def tokens(smart: EhrAuthorization, patient_ids: dict[str, str]) -> Tokens:
    return Tokens(
        mine={name: smart.issue("launch/patient openid fhirUser patient/*.cruds", patient_ids[MINE], service=name)
              for name in SERVICES},
        theirs_read_only={name: smart.issue("launch/patient patient/*.rs", patient_ids[THEIRS], service=name)
                          for name in SERVICES})


@pytest.fixture(scope="package")
def journey(stack: Stack, ehr, ehr_auth, broker, patient_ids: dict[str, str]) -> Journey:
    tokens = {}
    if ehr_auth is not None:
        tokens = {stack.urls[name]: ehr_auth.issue("openid fhirUser user/*.cruds", service=name)["access_token"]
                  for name in SERVICES}
    return run_journey(stack.urls, Caller(tokens), ehr, broker.bootstrap, patient_ids, THEIRS)
