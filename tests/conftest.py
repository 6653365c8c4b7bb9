"""Session fixtures: one real broker and one real EHR sandbox per test session, on free ports.

``KAFKA_BOOTSTRAP_SERVERS`` / ``EHR_FHIR_BASE_URL`` in the environment point the tests at servers already running
(e.g. production-like Apache Kafka and HAPI FHIR); otherwise the project's own scripts start them as local processes.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.fhir.client import FhirClient
from tests.support.processes import ManagedProcess, ehr_sandbox, tansu_broker

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@dataclass
class Broker:
    bootstrap: str
    process: ManagedProcess | None  # None when the tests use a broker they did not start


@dataclass
class Ehr:
    base_url: str
    process: ManagedProcess | None

    @property
    def client(self) -> FhirClient:
        return FhirClient(self.base_url)


@pytest.fixture(scope="session")
def log_dir() -> Path:
    path = ARTIFACTS / "logs"
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.log"):
        old.unlink()
    return path


@pytest.fixture(scope="session")
def broker(log_dir: Path) -> Iterator[Broker]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield Broker(external, None)
        return
    process, bootstrap = tansu_broker(log_dir)
    process.start()
    yield Broker(bootstrap, process)
    process.stop()


@pytest.fixture(scope="session")
def ehr(log_dir: Path, broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    external = os.environ.get("EHR_FHIR_BASE_URL")
    if external:
        yield Ehr(external, None)
        return
    process, base_url = ehr_sandbox(log_dir, tmp_path_factory.mktemp("ehr"), broker.bootstrap)
    process.start()
    yield Ehr(base_url, process)
    process.stop()
