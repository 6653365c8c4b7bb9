"""Fixtures of the fuzz tests: the three services as real processes against the session's broker and EHR sandbox,
and the same services' Kafka handlers built in this process the way their workers build them.

The OpenAPI fuzz runs the services without their worker (``RUN_WORKER=false``): then nothing but the fuzzed
requests writes to their databases, so "a refused request wrote nothing" can be checked exactly. Their databases
are seeded first through the real handlers (an eligibility decision for orders, a signed order for documentation),
so requests naming the seeded patient, order or session reach the domain's checks instead of a 404."""
from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.events.consumer import MessageProcessor
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import ACCESS, INTAKE_EVENTS, ORDERS_EVENTS
from shared.runtime import ServiceRuntime, ServiceSettings
from tests.fuzz.campaign import CAMPAIGN
from tests.fuzz.payloads import Template, message_templates
from tests.integration.documentation.clinic import Clinic
from tests.integration.orders.cds_hooks_support import SigningEhr, ec_ehr
from tests.integration.orders.support import eligibility_message
from tests.support.backend_auth import service_tokens
from tests.support.processes import service
from tests.support.prod_model import database_url, table_digests

SERVICES = ("intake", "orders", "documentation")


@dataclass(frozen=True)
class RunningService:
    name: str
    base_url: str
    database: str  # the service's database URL: its SQLite file, its PostgreSQL database under make test-prod


@dataclass(frozen=True)
class InProcessService:
    """A service's handlers on its own database, as its worker wires them (no Kafka client is created)."""

    name: str
    processor: MessageProcessor
    database: str  # a database URL

    def reads(self, topic: str) -> bool:
        return topic in ACCESS[self.name].reads


def in_process(name: str, database: str, ehr_base_url: str, bootstrap: str) -> InProcessService:
    runtime = ServiceRuntime(name, ServiceSettings(database_url=database,
                                                   ehr_fhir_base_url=ehr_base_url, ehr_timeout_s=10.0),
                             KafkaSettings(bootstrap_servers=bootstrap), ehr_tokens=service_tokens(name, ehr_base_url))
    _app, handlers, response_handlers = importlib.import_module(f"services.{name}.bootstrap").build(runtime)
    return InProcessService(name, MessageProcessor(runtime.engine, handlers, response_handlers), database)


def database_state(database: str) -> dict[str, str]:
    """A digest of every table's rows, read beside the service's own connections (read-only)."""
    return table_digests(database)


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))


class _CapturingClinic(Clinic):
    """The documentation tests' order builder, keeping the message instead of publishing it."""

    captured: dict[str, Any]

    def send(self, topic: str, message: Any, key: str) -> None:
        self.captured = message


@pytest.fixture(scope="package")
def seeded_patient_id(ehr) -> str:
    """The EHR id of seeded patient KL-1001."""
    return ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1001"})[0]["id"]


@pytest.fixture(scope="package")
def order_signed(broker, ehr) -> dict[str, Any]:
    """An ``order-signed`` message for KL-1001 (6 infusions from today, dosed from the EHR's weight)."""
    clinic = _CapturingClinic("", broker.bootstrap, ehr)
    clinic.publish_signed_order("KL-1001")
    return clinic.captured


@pytest.fixture(scope="package")
def templates(seeded_patient_id: str, order_signed: dict[str, Any]) -> dict[str, Template]:
    return message_templates(seeded_patient_id, order_signed)


#: The EHR whose signed JWTs the orders service trusts for its CDS Hooks endpoints (a pinned key set), so generated
#: hook and feedback bodies reach the service's body handling instead of stopping at the 401.
CDS_ISS = "https://ehr.example.test/fuzz"


@pytest.fixture(scope="package")
def cds_client() -> SigningEhr:
    return ec_ehr(CDS_ISS)


@pytest.fixture(scope="package")
def web_only_services(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                      seeded_patient_id: str, order_signed: dict[str, Any],
                      cds_client: SigningEhr) -> Iterator[dict[str, RunningService]]:
    """The three services' HTTP APIs without consumer or outbox relay: their databases change only by request."""
    data_dir = tmp_path_factory.mktemp("fuzz-api")
    jwks_file = data_dir / "cds-client-jwks.json"
    jwks_file.write_text(json.dumps(cds_client.public_jwks()))
    extra_env = {"orders": {"ORDERS_CDS_TRUSTED_ISSUERS": json.dumps(
        {CDS_ISS: {"jwks_file": str(jwks_file), "fhir_servers": [ehr.base_url]}})}}
    seeds = {"orders": (INTAKE_EVENTS, eligibility_message(seeded_patient_id)),
             "documentation": (ORDERS_EVENTS, order_signed)}
    for name, (topic, message) in seeds.items():
        handlers = in_process(name, database_url(name, data_dir), ehr.base_url, broker.bootstrap)
        assert handlers.processor.process(topic, json.dumps(message).encode()) == "done"
    started, running = [], {}
    try:
        for name in SERVICES:
            process, base_url = service(name, log_dir, data_dir, broker.bootstrap, ehr.base_url,
                                        {"RUN_WORKER": "false", **extra_env.get(name, {})})
            process.log_path = log_dir / f"fuzz-api-{name}.log"
            started.append(process.start())
            running[name] = RunningService(name, base_url, database_url(name, data_dir))
        yield running
    finally:
        for process in started:
            process.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return CAMPAIGN.describe()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The seed again at the end, where a failed campaign's reader looks for how to repeat it."""
    terminalreporter.write_line(CAMPAIGN.describe())
