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


def _run_log_dir() -> Path:
    """test-artifacts/logs/<pid>/, or under xdist test-artifacts/logs/<run id>/ holding a directory per worker."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    return ARTIFACTS / "logs" / (f"run-{run_id[:12]}" if run_id else str(os.getpid()))


@pytest.fixture(scope="session")
def log_dir() -> Path:
    """This session's server logs (test-artifacts/logs/<pid>/; under xdist .../<run id>/<worker>/: the workers'
    servers have the same names), kept for reading after a failure."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    path = _run_log_dir() / worker if worker else _run_log_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def run_log_dir(log_dir: Path) -> Path:
    """Every server log of this run: ``log_dir``, or under xdist the directory of every worker's ``log_dir``."""
    return log_dir.parent if os.environ.get("PYTEST_XDIST_WORKER") else log_dir


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


# `make test` runs on two xdist workers (`-n 2 --dist loadfile`; each worker has its own session broker, EHR
# sandbox and log directory, on free ports). A worker runs a whole group: each test file is a group, so its module
# fixtures are set up once; these directories are one group each, as their package- or session-scoped servers
# (a service stack, the browser stack, the fuzz services, the deploy tools' schema cache) are started once per
# worker; tests/fault's two modules restart servers on a timing budget, so they run one after the other.
# (xdist's own --dist loadgroup cannot be used: it renames node ids through Node._nodeid, which pytest 9 ignores.)
ONE_WORKER_DIRECTORIES = ("browser", "deploy", "fault", "fuzz", "security", "integration/course",
                          "integration/documentation", "integration/intake", "integration/orders", "integration/smart")
TESTS = Path(__file__).resolve().parent


def xdist_group_of(path: Path) -> str:
    """The group of a test file: its directory when that is one of ``ONE_WORKER_DIRECTORIES``, else the file."""
    try:
        relative = path.resolve().relative_to(TESTS).as_posix()
    except ValueError:
        return str(path)
    for directory in ONE_WORKER_DIRECTORIES:
        if relative.startswith(f"{directory}/"):
            return directory
    return relative


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, on the controller: how tests are shared out
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    # Groups in the order collected (pytest_collection_modifyitems), not xdist's default of most tests first.
    config.option.loadscopereorder = False

    class GroupedFileScheduling(LoadFileScheduling):
        """--dist loadfile, with each of ``ONE_WORKER_DIRECTORIES`` as one file."""

        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(config.rootpath / nodeid.split("::", 1)[0])

    return GroupedFileScheduling(config, log)


#: Handed out last: tests/security scans every server log of the run (``run_log_dir``) for PHI, so the other
#: worker has run (nearly) all it will by then, as the suite before it has in a run without workers.
LAST_DIRECTORY = "security"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the groups are handed out in this order
        items.sort(key=lambda item: xdist_group_of(item.path) == LAST_DIRECTORY)  # stable: otherwise kept
