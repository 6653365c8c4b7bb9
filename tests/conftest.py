"""Session fixtures: one real broker and one real EHR sandbox per test session, on free ports.

``KAFKA_BOOTSTRAP_SERVERS`` / ``EHR_FHIR_BASE_URL`` in the environment point the tests at servers already running
(e.g. production-like Apache Kafka and HAPI FHIR); otherwise the project's own scripts start them as local processes.
``KETALINK_TEST_BROKER=kafka`` (``make test-kafka``) starts Apache Kafka itself (its jars, KRaft) instead of Tansu;
``KETALINK_TEST_FHIR=hapi`` (``make test-hapi``) starts a HAPI FHIR JPA server (its jars, H2 in memory) as the EHR,
with the sandbox process seeding it and playing the integration engine in front of it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.fhir.client import FhirClient
from tests.support.apache_kafka import apache_kafka_broker
from tests.support.backend_auth import bearer_headers, ehr_client
from tests.support.clinic_zone import clinic_zone_of_the_tests
from tests.support.containers import docker_available, hapi_container, kafka_container
from tests.support.hapi import hapi_fhir_server
from tests.support.processes import ManagedProcess, ehr_sandbox, tansu_broker

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# The clinic's zone is required outside local runs (shared/clinic_time.py): the tests set it explicitly, for the
# services they build in this process and, through the environment, for the ones they start as processes. It is a
# zone where it is about midday now (tests/support/clinic_zone.py), so a session charted "N hours ago" on an order
# starting today is inside the clinic's day whatever the hour CI runs at; tests of the zone itself set their own.
clinic_zone_of_the_tests()


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
        """The EHR's FHIR API with the tests' backend token (``tests/support/backend_auth.py``)."""
        return ehr_client(self.base_url)

    def headers(self) -> dict[str, str]:
        """``Authorization`` for a raw request to the FHIR API."""
        return bearer_headers(self.base_url)


@pytest.fixture(scope="session")
def log_dir() -> Path:
    """This run's server logs (test-artifacts/logs/<pid>/), kept for reading after a failure."""
    path = ARTIFACTS / "logs" / str(os.getpid())
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def broker(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield Broker(external, None)
        return
    if os.environ.get("KETALINK_TEST_BROKER") == "kafka":  # `make test-kafka`: Apache Kafka's jars, KRaft, local
        process, bootstrap = apache_kafka_broker(log_dir, tmp_path_factory.mktemp("kafka"))
        process.start()
        yield Broker(bootstrap, process)
        process.stop(timeout_s=30.0)
        return
    if docker_available():
        os.environ["KETALINK_TEST_BROKER"] = "kafka"  # Apache Kafka: sessions of 6 s or more
        with kafka_container() as bootstrap:
            yield Broker(bootstrap, None)
        return
    process, bootstrap = tansu_broker(log_dir)
    process.start()
    yield Broker(bootstrap, process)
    process.stop()


@pytest.fixture(scope="session")
def ehr(log_dir: Path, broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    """The EHR: the sandbox's own FHIR server, or HAPI FHIR (testcontainers) / ``EHR_FHIR_BASE_URL`` with the
    sandbox process seeding it and playing the integration engine in front of it."""
    data_dir = tmp_path_factory.mktemp("ehr")
    external = os.environ.get("EHR_FHIR_BASE_URL")
    if not external and os.environ.get("KETALINK_TEST_FHIR") == "hapi":  # `make test-hapi`: HAPI FHIR's jars, local
        hapi, hapi_url = hapi_fhir_server(log_dir)
        hapi.start()
        process, base_url = ehr_sandbox(log_dir, data_dir, broker.bootstrap, hapi_url, tokens_for_external=True)
        process.start()
        yield Ehr(base_url, process)
        process.stop()
        hapi.stop(timeout_s=30.0)
        return
    if external or not docker_available():
        process, base_url = ehr_sandbox(log_dir, data_dir, broker.bootstrap, external)
        process.start()
        yield Ehr(base_url, process)
        process.stop()
        return
    with hapi_container() as hapi_url:
        process, base_url = ehr_sandbox(log_dir, data_dir, broker.bootstrap, hapi_url)
        process.start()
        yield Ehr(base_url, process)
        process.stop()
