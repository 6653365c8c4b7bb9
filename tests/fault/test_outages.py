"""Outages under load: while the EHR announces portal PHQ-9s and a nurse charts vitals, the broker, then the EHR
sandbox (its FHIR server and integration engine), then the orders and the documentation service go away for a while
(the services are killed, as a crash would) and come back. Afterwards every event and request is in the EHR exactly
once: each PHQ-9 as one course-score Observation, each vitals reading as one blood-pressure, one heart-rate and one
SpO2 Observation; and each is on the course or the session once.

The stack is the test's own (broker, EHR sandbox, orders, documentation as local processes): the session's shared
servers stay up for the other tests. With the embedded broker (Tansu keeps records in memory, so a restart loses
topics, records and committed offsets), the streams pause and the test waits until what was sent is in the EHR
before it stops the broker; the streams then run on through the outage, so the services' outboxes, reconnects and
topic re-creation are what carry the work over. ``make test-kafka`` runs this against Apache Kafka, whose log
survives a restart: there the broker is stopped mid-stream without a pause."""
from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from shared.fhir.client import FhirClient
from shared.fhir.datatypes import identifier
from tests.conftest import Ehr
from tests.fault.load import NurseVitals, PortalScores, Stream
from tests.integration.course.support import CourseClinic, hours_ago
from tests.integration.documentation.clinic import NURSE, Clinic, pre_check
from tests.support.apache_kafka import apache_kafka_broker
from tests.support.kafka_tools import wait_for
from tests.support.backend_auth import ehr_client
from tests.support.processes import ManagedProcess, ehr_sandbox, service, tansu_broker

pytestmark = pytest.mark.integration

OUTAGE_S = 5.0  # how long each server stays away
RECOVERY_S = 3.0  # load between outages
STREAM_DEADLINE_S = 240.0
CONVERGENCE_TIMEOUT_S = 120.0
SCORE_KIND, VITAL_KIND = "course-score", "vital-sign"
VITAL_MEASURES = ("bp", "hr", "spo2")  # one Observation each per reading


@dataclass
class FaultStack:
    broker: ManagedProcess
    broker_keeps_records: bool
    bootstrap: str
    ehr: ManagedProcess
    ehr_base_url: str
    orders: ManagedProcess
    orders_url: str
    documentation: ManagedProcess
    documentation_url: str
    log_dir: Path

    def processes(self) -> list[ManagedProcess]:
        return [self.documentation, self.orders, self.ehr, self.broker]


@pytest.fixture(scope="module")
def stack(log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    logs = log_dir / "faults"
    logs.mkdir(exist_ok=True)
    data = tmp_path_factory.mktemp("faults")
    if os.environ.get("KETALINK_TEST_BROKER") == "kafka":
        (data / "kafka").mkdir()
        broker, bootstrap = apache_kafka_broker(logs, data / "kafka")  # its log is on disk: a restart keeps it
        keeps_records = True
    else:
        broker, bootstrap = tansu_broker(logs)
        keeps_records = False
    started: list[ManagedProcess] = []
    try:
        started.append(broker.start())
        ehr, ehr_url = ehr_sandbox(logs, data, bootstrap)
        started.append(ehr.start())
        orders, orders_url = service("orders", logs, data, bootstrap, ehr_url)
        started.append(orders.start())
        documentation, documentation_url = service("documentation", logs, data, bootstrap, ehr_url)
        started.append(documentation.start())
        yield FaultStack(broker, keeps_records, bootstrap, ehr, ehr_url, orders, orders_url, documentation,
                         documentation_url, logs)
    finally:
        for process in reversed(started):
            process.stop(timeout_s=30.0)


@dataclass
class Charting:
    """The patient's running infusion session and treatment course, set up before the outages begin."""

    patient_id: str
    course_id: str
    session_id: str


@pytest.fixture(scope="module")
def charting(stack: FaultStack) -> Charting:
    """An eligible patient with a signed induction (so a course takes scores) whose first infusion is running (so
    the session takes vitals); waits until the course and the session are in the EHR, so every later message refers
    to something stored."""
    ehr = Ehr(stack.ehr_base_url, None)
    clinic = Clinic(stack.documentation_url, stack.bootstrap, ehr)
    course = CourseClinic(stack.orders_url, clinic, stack.bootstrap, ehr)
    patient_id = clinic.patient_id("KL-1001")
    course.decide_with_baseline(patient_id, 20, answered_at=hours_ago(48))
    induction = course.sign_induction(patient_id)
    session_id = f"{induction.order_id}-1"
    course.wait_course(patient_id, lambda c: c["course_id"] == induction.course_id, "the course")
    wait_for(lambda: any(s["session_id"] == session_id for s in clinic.sessions(patient_id, induction.order_id)),
             timeout_s=60, what="the first session scheduled")
    check_in = hours_ago(2)
    path = f"/sessions/{session_id}"
    clinic.post(f"{path}/check-in", {"by": NURSE, "at": check_in.isoformat()})
    clinic.post(f"{path}/pre-check", pre_check((check_in + timedelta(minutes=5)).isoformat(), 124, 80,
                                                reading_id="pre"))
    clinic.post(f"{path}/start", {"by": NURSE, "at": (check_in + timedelta(minutes=10)).isoformat()})
    course.in_ehr("CarePlan", "course", induction.course_id)
    clinic.in_ehr("Encounter", "infusion-session", session_id, timeout_s=60)
    return Charting(patient_id, induction.course_id, session_id)


def test_nothing_is_lost_or_doubled_when_the_broker_the_ehr_and_the_services_go_away(stack: FaultStack,
                                                                                       charting: Charting):
    first_reading_at = hours_ago(2) + timedelta(minutes=11)
    scores = PortalScores(stack.bootstrap, stack.ehr_base_url, charting.patient_id, total=15,
                          deadline_s=STREAM_DEADLINE_S)
    nurse = NurseVitals(stack.documentation_url, charting.session_id, first_reading_at, STREAM_DEADLINE_S)
    streams: list[Stream] = [scores, nurse]
    ehr = ehr_client(stack.ehr_base_url)

    def everything_acknowledged_is_in_the_ehr() -> bool:
        return not _missing(ehr, charting, scores, nurse)

    for stream in streams:
        stream.start()
    try:
        time.sleep(RECOVERY_S)
        # 1. The broker.
        if stack.broker_keeps_records:
            _outage(stack.broker)
        else:
            for stream in streams:
                stream.pause()
            wait_for(everything_acknowledged_is_in_the_ehr, 60.0, 0.5,
                     "the work sent so far in the EHR before the broker stops")
            stack.broker.stop()
            for stream in streams:
                stream.resume()
            time.sleep(OUTAGE_S)
            stack.broker.start()
        time.sleep(RECOVERY_S)
        # 2. The EHR: its FHIR server and its integration engine.
        _outage(stack.ehr)
        time.sleep(RECOVERY_S)
        # 3. Each service, killed as a crash would.
        _outage(stack.orders, kill=True)
        time.sleep(RECOVERY_S)
        _outage(stack.documentation, kill=True)
        time.sleep(RECOVERY_S)
    finally:
        for stream in streams:
            stream.stop()

    assert not scores.report.failures, scores.report.failures
    assert not nurse.report.failures, nurse.report.failures
    assert len(scores.report.acknowledged) >= 20 and len(nurse.report.acknowledged) >= 20, "the streams ran"
    assert scores.report.retries and nurse.report.retries, "the outages were felt by the streams"

    wait_for(everything_acknowledged_is_in_the_ehr, CONVERGENCE_TIMEOUT_S, 0.5,
             "every acknowledged score and reading in the EHR",
             explain=lambda: _summary(_missing(ehr, charting, scores, nurse)) + _recent_trouble(stack))
    stored = _ketalink_identifiers(ehr, charting.patient_id)
    doubled = {key: count for key, count in stored.items() if count > 1}
    assert not doubled, f"resources stored more than once: {doubled}"
    score_values = {value for (kind, value) in stored if kind == SCORE_KIND and value.startswith(
        "ehr-questionnaire-response-qr-fault-")}
    assert score_values == {_score_value(qr) for qr in scores.report.acknowledged}
    vital_values = {value for (kind, value) in stored if kind == VITAL_KIND and "/fault-" in value}
    assert vital_values == {_vital_value(charting.session_id, r, m) for r in nurse.report.acknowledged
                            for m in VITAL_MEASURES}

    # The services' own records: each reading once on the session, each score once on the course.
    clinic = Clinic(stack.documentation_url, stack.bootstrap, Ehr(stack.ehr_base_url, None))
    session = clinic.get(f"/sessions/{charting.session_id}")
    charted = Counter(r["reading_id"] for r in session["readings"] if r["reading_id"].startswith("fault-"))
    assert charted == Counter(nurse.report.acknowledged)
    course = CourseClinic(stack.orders_url, clinic, stack.bootstrap, None).course(charting.patient_id)
    points = Counter(p["measurement_id"] for s in course["summary"]["series"] for p in s["points"]
                     if p["measurement_id"].startswith("ehr-questionnaire-response-qr-fault-"))
    assert points == Counter(_score_value(qr) for qr in scores.report.acknowledged)

    # Nothing was given up on: no record of the streams went to a dead-letter topic.
    for process in (stack.orders, stack.documentation, stack.ehr):
        assert b'"message dead-lettered"' not in process.log_path.read_bytes(), f"see {process.log_path}"


def _outage(process: ManagedProcess, kill: bool = False) -> None:
    if kill:
        process.kill()
    else:
        process.stop(timeout_s=30.0)
    time.sleep(OUTAGE_S)
    process.start()


def _summary(missing: set[tuple[str, str]]) -> str:
    by_kind = Counter(kind for kind, _ in missing)
    return f"(missing: {dict(by_kind)}; e.g. {sorted(missing)[:4]})"


def _recent_trouble(stack: FaultStack, per_process: int = 4) -> str:
    """The last warnings and group-membership lines of each process since its last start, for the failure message
    (CI shows it; the logs themselves stay in the run's artifacts). Logs carry ids only, never PHI."""
    noise = (b"No node available", b"ECONNREFUSED", b"socket disconnected", b"topic_id changed")
    lines = []
    for process in stack.processes():
        picked = [line for line in process.log_since_start().splitlines()
                  if (b'"WARNING"' in line or b'"ERROR"' in line or b'"kafka.coordinator' in line)
                  and not any(n in line for n in noise)][-per_process:]
        lines += [f"\n  {process.name}: {line.decode(errors='replace')[:240]}" for line in picked]
    return "".join(lines)


def _score_value(response_id: str) -> str:
    return f"ehr-questionnaire-response-{response_id}"


def _vital_value(session_id: str, reading_id: str, measure: str) -> str:
    return f"{session_id}/{reading_id}/{measure}"


def _missing(ehr: FhirClient, charting: Charting, scores: PortalScores, nurse: NurseVitals) -> set[tuple[str, str]]:
    expected = {(SCORE_KIND, _score_value(qr)) for qr in list(scores.report.acknowledged)}
    expected |= {(VITAL_KIND, _vital_value(charting.session_id, r, m)) for r in list(nurse.report.acknowledged)
                 for m in VITAL_MEASURES}
    try:
        stored = _ketalink_identifiers(ehr, charting.patient_id)
    except Exception:  # noqa: BLE001 - the EHR may be restarting; ask again
        return expected
    return expected - set(stored)


def _ketalink_identifiers(ehr: FhirClient, patient_id: str) -> Counter[tuple[str, str]]:
    """(kind, value) → how many of the patient's Observations in the EHR carry that Ketalink identifier."""
    systems = {identifier(kind, "x")["system"]: kind for kind in (SCORE_KIND, VITAL_KIND)}
    found: Counter[tuple[str, str]] = Counter()
    for observation in ehr.search("Observation", {"subject": f"Patient/{patient_id}", "_count": 200}):
        for ident in observation.get("identifier", []):
            if ident.get("system") in systems:
                found[(systems[ident["system"]], ident["value"])] += 1
    return found
