"""Issue 8: the services' inbound Kafka handlers under hypothesis-generated records (payloads.py): bytes, text,
JSON that is no FHIR message, messages nobody handles, and realistic messages with broken focus resources.

In this process, with many examples: each service's ``MessageProcessor`` (wired as its worker wires it, on a fresh
SQLite file, the EHR sandbox behind it) gives every record one of its documented outcomes — done, duplicate,
ignored, or a ``PermanentError`` with a reason (dead-letter) — and never lets another exception out; a record it
does not apply leaves its database as it was. Over the real broker, with fewer records: the three services as
processes dead-letter every record their handlers refuse on ``<topic>.dlq`` with the reason and their group, still
process a good message after them, and send nothing (so the EHR is written nothing) because of them."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from kafka import KafkaProducer
from sqlalchemy import create_engine, select

from deploy.ehr_sandbox.ehr_events import record_and_announce
from deploy.ehr_sandbox.ehr_events import referral as referral_for
from deploy.ehr_sandbox.seed import MRN_SYSTEM
from shared.db import outbox
from shared.events.consumer import PermanentError, TransientError
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import EHR_EVENTS, INTAKE_EVENTS, ORDERS_EVENTS, all_topics, dead_letter_topic
from shared.fhir.messaging import parse_message
from tests.fuzz.conftest import SERVICES, InProcessService, changed_tables, database_state, in_process
from tests.fuzz.payloads import Template, bad_records
from tests.integration.intake.steps import intakes_for_referral
from tests.integration.orders.support import eligibility_message
from tests.support.kafka_tools import read_all, wait_for
from tests.support.prod_model import database_url
from tests.support.service_stack import services_reading_from_the_end

pytestmark = pytest.mark.integration

IN_PROCESS_EXAMPLES = 500
OVER_THE_BROKER = 40  # records drawn for the broker test (those the handlers refuse are the ones checked there)
FUZZ_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.large_base_example, HealthCheck.filter_too_much])
APPLIED = ("done", "duplicate", "ignored")


def outcome_of(service: InProcessService, topic: str, value: bytes) -> str:
    """``process`` as the consumer loop calls it: an applied outcome, or ``dead-letter`` for a PermanentError with
    a reason. A TransientError fails: the EHR answers and nothing else runs here, so no cause is transient, and the
    loop would retry the record forever. Any other exception propagates and fails the test."""
    try:
        outcome = service.processor.process(topic, value)
    except PermanentError as error:
        assert str(error).strip(), f"{service.name}: a dead-letter without a reason"
        return "dead-letter"
    except TransientError as error:
        raise AssertionError(f"{service.name} would retry this record forever: {error}") from None
    assert outcome in APPLIED, outcome
    return outcome


@pytest.fixture(scope="module")
def handlers(broker, ehr, tmp_path_factory: pytest.TempPathFactory) -> list[InProcessService]:
    data_dir = tmp_path_factory.mktemp("fuzz-handlers")
    return [in_process(name, f"sqlite:///{data_dir / f'{name}.db'}", ehr.base_url, broker.bootstrap)
            for name in SERVICES]


def test_the_templates_are_messages_the_handlers_apply(handlers: list[InProcessService],
                                                       templates: dict[str, Template]) -> None:
    """The mutations start from these: each must be applied whole by every service reading its topic, or the fuzz
    would only ever reach the envelope checks."""
    for code, template in templates.items():
        for service in handlers:
            if service.reads(template.topic):
                value = json.dumps(template.message).encode()
                assert outcome_of(service, template.topic, value) in APPLIED, (service.name, code)


def test_every_record_gets_a_documented_outcome_and_a_refused_one_writes_nothing(
        handlers: list[InProcessService], templates: dict[str, Template]) -> None:
    seen: dict[str, int] = {}

    @settings(max_examples=IN_PROCESS_EXAMPLES, **FUZZ_SETTINGS)
    @given(record=bad_records(templates))
    def each(record: tuple[str, bytes]) -> None:
        topic, value = record
        for service in handlers:
            if not service.reads(topic):
                continue
            before = database_state(service.database)
            outcome = outcome_of(service, topic, value)
            seen[outcome] = seen.get(outcome, 0) + 1
            if outcome != "done":
                changed = changed_tables(before, database_state(service.database))
                assert not changed, f"{service.name}: {outcome}, yet {changed} changed"

    each()
    # The strategies reach every kind of outcome that matters here; if they stopped doing so, this says it.
    assert seen.get("dead-letter", 0) >= IN_PROCESS_EXAMPLES // 2 and seen.get("ignored", 0) > 0, seen


# --- over the real broker ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str],
                                                                                                   Path]]:
    """The three services as processes with their workers, groups at the end of the topics; and their data dir."""
    data_dir = tmp_path_factory.mktemp("fuzz-kafka")
    with services_reading_from_the_end(SERVICES, "fuzz", broker.bootstrap, ehr.base_url, log_dir,
                                       data_dir) as urls:
        yield urls, data_dir


def drawn_records(templates: dict[str, Template]) -> list[tuple[str, bytes]]:
    """The first ``OVER_THE_BROKER`` records of the strategy (the same ones on every run)."""
    records: list[tuple[str, bytes]] = []

    @settings(max_examples=OVER_THE_BROKER, phases=[Phase.generate], **FUZZ_SETTINGS)
    @given(record=bad_records(templates))
    def collect(record: tuple[str, bytes]) -> None:
        records.append(record)

    collect()
    return records


def test_refused_records_are_dead_lettered_with_the_reason_and_the_consumers_go_on(
        stack: tuple[dict[str, str], Path], broker, ehr, templates: dict[str, Template], seeded_patient_id: str,
        order_signed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> None:
    urls, data_dir = stack
    records = drawn_records(templates)
    # Which service refuses which record: its handlers in this process, fed the same records in the same order.
    twins_dir = tmp_path_factory.mktemp("fuzz-twins")
    twins = [in_process(name, f"sqlite:///{twins_dir / f'{name}.db'}", ehr.base_url, broker.bootstrap)
             for name in SERVICES]
    refused = {(twin.name, topic, value) for topic, value in records for twin in twins
               if twin.reads(topic) and outcome_of(twin, topic, value) == "dead-letter"}
    assert len(refused) >= OVER_THE_BROKER, f"only {len(refused)} refusals among {len(records)} records"

    # One key for all: on each topic the good messages land in the bad ones' partition, after them.
    key = f"fuzz-{uuid.uuid4().hex[:8]}"
    referral, announcement = record_and_announce(ehr.client, referral_for(seeded_patient_id), "referral-requested")
    # The eligibility that shows orders alive is another patient's: it travels on the intake topic, which the
    # broker does not order against ehr.events, so for the fuzzed patient it could land before a fuzzed CPOE order
    # and make the service accept an order its twin (fed without it) refused.
    other_patient_id = ehr.client.search("Patient", {"identifier": f"{MRN_SYSTEM}|KL-1002"})[0]["id"]
    eligibility = eligibility_message(other_patient_id)
    _publish(broker.bootstrap, records + [(EHR_EVENTS, json.dumps(announcement).encode()),
                                          (INTAKE_EVENTS, json.dumps(eligibility).encode()),
                                          (ORDERS_EVENTS, json.dumps(order_signed).encode())], key)

    # Alive: each service applied the good message published after the bad ones.
    wait_for(lambda: intakes_for_referral(urls["intake"], seeded_patient_id, referral["id"]), timeout_s=60,
             what="the intake to start from the referral published after the bad records")
    intake_id = parse_message(eligibility).first("RiskAssessment")["identifier"][0]["value"]
    wait_for(lambda: _json(f"{urls['orders']}/patients/{other_patient_id}/eligibility").get("intake_id")
             == intake_id, timeout_s=60, what="orders to take the eligibility decision published after them")
    order_id = parse_message(order_signed).first("MedicationRequest")["identifier"][0]["value"]
    wait_for(lambda: any(s["order_id"] == order_id for s in
                         _json(f"{urls['documentation']}/patients/{seeded_patient_id}/sessions").get("sessions", [])),
             timeout_s=60, what="documentation to schedule the order published after them")

    # Every refused record is on its dead-letter topic, from the service that refused it, with the reason.
    dead = _wait_for_dead_letters(broker.bootstrap, refused)
    for name, topic, value in refused:
        reasons = dead[(name, topic, value)]
        assert all(reason.strip() for reason in reasons), (name, topic, reasons)

    # Nothing was sent because of the refused ones (so nothing reached the EHR): each service's outbox holds what
    # its twin's holds, the answers to the records it applied (e.g. a CPOE order answered), and no more.
    for twin in twins:
        sent, expected_sent = (sorted(_outbox_event_codes(db)) for db in (database_url(twin.name, data_dir),
                                                                          twin.database))
        assert sent == expected_sent, twin.name


def _publish(bootstrap: str, records: list[tuple[str, bytes]], key: str) -> None:
    ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), all_topics())
    producer = KafkaProducer(bootstrap_servers=[bootstrap], max_request_size=4 * 1024 * 1024)
    try:
        for topic, value in records:
            producer.send(topic, value=value, key=key.encode()).get(timeout=30)
    finally:
        producer.close()


def _dead_lettered(bootstrap: str, topics: list[str]) -> dict[tuple[str, str, bytes], list[str]]:
    """(service, source topic, value) → the reasons given, for this test's groups (``ketalink-<name>-fuzz-*``)."""
    found: dict[tuple[str, str, bytes], list[str]] = {}
    for topic in topics:
        for record in read_all(bootstrap, dead_letter_topic(topic)):
            headers = dict(record.headers or [])
            consumer = headers.get("dlq-consumer", b"").decode()
            name = next((n for n in SERVICES if consumer.startswith(f"ketalink-{n}-fuzz-")), None)
            if name is not None and headers.get("dlq-source-topic", b"").decode() == topic:
                found.setdefault((name, topic, record.value), []).append(headers.get("dlq-reason", b"").decode())
    return found


def _wait_for_dead_letters(bootstrap: str, expected: set[tuple[str, str, bytes]],
                           timeout_s: float = 30.0) -> dict[tuple[str, str, bytes], list[str]]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = _dead_lettered(bootstrap, sorted({topic for _, topic, _ in expected}))
        missing = _missing(expected, found)
        if not missing:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} of {len(expected)} refused records are not on the dead-letter "
                                 f"topic after {timeout_s} s (service, topic): {missing[:10]}")
        time.sleep(0.5)


def _missing(expected: set[tuple[str, str, bytes]], found: dict[tuple[str, str, bytes], list[str]]) -> list[Any]:
    return [(name, topic) for name, topic, value in expected if (name, topic, value) not in found]


def _outbox_event_codes(database: str) -> list[str]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return [code for (code,) in conn.execute(select(outbox.c.event_code).order_by(outbox.c.id))]
    finally:
        engine.dispose()


def _json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=10)
    return response.json() if response.status_code == 200 else {}
