"""Recovery after a broker restart: while a nurse charts vitals, the broker is killed (SIGKILL, as a crash would),
stays away a few seconds and comes back. Within ``RECOVERY_GOAL_S`` of the broker accepting connections again,
every reading acknowledged so far (those charted during the outage wait in the documentation service's outbox) and
a reading charted after the broker came back are applied by the EHR's integration engine, and the engine and the
documentation service have fetched and committed what was waiting for them. The figures are printed (``-s``) and
go to docs/operations.md, "Fast recovery after a broker restart".

It proves the reconnect settings in ``shared/events/kafka_clients.py`` (``KafkaSettings.reconnect_backoff_*``,
``client_restart_backoff_max_ms``), the outbox relay's and the consumer loop's own backoffs. ``make test-kafka``
runs it against Apache Kafka, whose log survives the restart, so the stream keeps running through the outage. The
embedded broker keeps nothing across a restart: there the stream is paused and drained before the kill (records on
the topics would be lost with it, which is not what this test measures), and the figure also includes re-creating
the topics."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from shared.fhir.client import FhirClient
from shared.events.topics import ACCESS
from tests.fault.load import NurseVitals
from tests.fault import test_outages as outages
from tests.fault.test_outages import (VITAL_KIND, VITAL_MEASURES, Charting, FaultStack, _ketalink_identifiers,
                                     _vital_value)
from tests.integration.course.support import hours_ago
from tests.support.backend_auth import ehr_client
from tests.support.kafka_tools import wait_for
from tests.support.processes import port_open

pytestmark = pytest.mark.integration

RECOVERY_GOAL_S = 15.0  # issue goal: everything flows again within 15 s of the broker being back
OUTAGE_S = 5.0
# A reading a second: far above a clinic's pace (a reading every few minutes per patient), yet a backlog the engine
# drains in seconds; the backlog grows with the broker's start time (15-35 s for Apache Kafka's JVM on a busy CI box).
STREAM_INTERVAL_S = 1.0
STREAM_DEADLINE_S = 180.0
ENGINE_GROUP = "ketalink-ehr"  # the EHR sandbox's integration engine (a ServiceRuntime named "ehr")

# The outage tests' own stack (broker, EHR sandbox, orders, documentation) and running session, for this module too.
stack = outages.stack
charting = outages.charting


class AcceptWatch:
    """Notes the first moment the broker's port accepts a connection again (probing every 50 ms in a thread), so
    the recovery is counted from then, not from when the test's slower readiness check passes."""

    def __init__(self, port: int):
        self._open = port_open(port)
        self.accepted_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="accept-watch", daemon=True)

    def __enter__(self) -> "AcceptWatch":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._thread.join(10)  # the port is open once the start returned: the watch notes it at its next probe
        self._done.set()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._open():
                self.accepted_at = time.monotonic()
                return
            time.sleep(0.05)


@pytest.fixture
def nurse(stack: FaultStack, charting: Charting) -> Iterator[NurseVitals]:
    stream = NurseVitals(stack.documentation_url, charting.session_id, hours_ago(2) + timedelta(minutes=11),
                         STREAM_DEADLINE_S, interval_s=STREAM_INTERVAL_S)
    stream.start()
    yield stream
    stream.stop()


def test_events_flow_again_within_15_s_of_the_broker_coming_back(stack: FaultStack,
                                                                  charting: Charting,
                                                                  nurse: NurseVitals):
    ehr = ehr_client(stack.ehr_base_url)
    wait_for(lambda: len(nurse.report.acknowledged) >= 5 and not _not_applied(ehr, charting, nurse.report.acknowledged),
             60.0, 0.5, "the first readings in the EHR before the broker goes")

    if not stack.broker_keeps_records:
        nurse.pause()
        wait_for(lambda: not _not_applied(ehr, charting, nurse.report.acknowledged), 60.0, 0.5,
                 "the readings sent so far in the EHR before the embedded broker (which keeps nothing) goes")
    before_kill = len(nurse.report.acknowledged)
    stack.broker.kill()
    killed_at = time.monotonic()
    nurse.resume()
    time.sleep(OUTAGE_S)
    during_outage = len(nurse.report.acknowledged)
    with AcceptWatch(_port(stack.bootstrap)) as watch:
        stack.broker.start()
    back_at = watch.accepted_at
    assert back_at is not None, "the broker's port never accepted a connection"

    # A reading charted after the broker is back, and everything acknowledged until then.
    wait_for(lambda: len(nurse.report.acknowledged) > during_outage + 1, 30.0, 0.1, "a reading after the restart")
    waiting = list(nurse.report.acknowledged)
    deadline_s = RECOVERY_GOAL_S + 45.0  # keep measuring past the goal, so a miss shows by how much
    first_waiting = waiting[before_kill:before_kill + 1]  # the first reading charted once the broker was gone
    first_applied_at = _when(lambda: not _not_applied(ehr, charting, first_waiting), back_at + deadline_s)
    applied_at = _when(lambda: not _not_applied(ehr, charting, waiting), back_at + deadline_s)
    ends = _end_offsets(stack)  # what the consumers have to commit once the readings are applied
    committed_at = _when(lambda: _committed(stack, ends), back_at + deadline_s)
    nurse.stop()

    figures = {
        "broker down (kill -9 to accepting, s)": back_at - killed_at,
        "readings acknowledged while the broker was away or starting": len(waiting) - before_kill,
        "broker accepting -> first waiting reading applied by the EHR engine (s)":
            None if first_applied_at is None else first_applied_at - back_at,
        "broker accepting -> every waiting reading and one charted after it applied (s)":
            None if applied_at is None else applied_at - back_at,
        "broker accepting -> engine and documentation consumers committed to the end (s)":
            None if committed_at is None else committed_at - back_at,
    }
    print("\nbroker restart recovery:", "; ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                                                  for k, v in figures.items()))
    assert not nurse.report.failures, nurse.report.failures
    assert first_applied_at is not None and first_applied_at - back_at <= RECOVERY_GOAL_S, figures
    assert applied_at is not None and applied_at - back_at <= RECOVERY_GOAL_S, (
        f"readings not all applied within {RECOVERY_GOAL_S} s of the broker accepting connections: {figures}; "
        f"still missing {len(_not_applied(ehr, charting, waiting))} of {len(waiting)}")
    assert committed_at is not None and committed_at - back_at <= RECOVERY_GOAL_S, (
        f"consumers not committed to the end within {RECOVERY_GOAL_S} s: {figures}; {_behind(stack, ends)}")
    doubled = {key: n for key, n in _ketalink_identifiers(ehr, charting.patient_id).items() if n > 1}
    assert not doubled, f"resources stored more than once: {doubled}"


def _port(bootstrap: str) -> int:
    return int(bootstrap.rsplit(":", 1)[1])


def _when(condition: Callable[[], bool], until: float) -> float | None:
    """The moment ``condition`` first holds (polled every 0.2 s), or None when ``until`` passes first (with the
    last error the check met, if any, printed)."""
    last_error: Exception | None = None
    while time.monotonic() < until:
        try:
            if condition():
                return time.monotonic()
        except Exception as error:  # noqa: BLE001 - a server answering late or not yet: ask again
            last_error = error
        time.sleep(0.2)
    if last_error is not None:
        print(f"\nlast error while waiting: {last_error!r}")
    return None


def _not_applied(ehr: FhirClient, running: Charting, reading_ids: list[str]) -> set[tuple[str, str]]:
    expected = {(VITAL_KIND, _vital_value(running.session_id, r, m)) for r in reading_ids for m in VITAL_MEASURES}
    return expected - set(_ketalink_identifiers(ehr, running.patient_id))


def _consumer_groups(faults: FaultStack) -> dict[str, tuple[str, ...]]:
    """The EHR engine's and the documentation service's groups, and the topics each reads."""
    return {ENGINE_GROUP: tuple(ACCESS["ehr"].reads),
            faults.documentation.env["CONSUMER_GROUP"]: tuple(ACCESS["documentation"].reads)}


def _end_offsets(faults: FaultStack) -> dict[TopicPartition, int]:
    reader = KafkaConsumer(bootstrap_servers=[faults.bootstrap], client_id="recovery-test-ends", group_id=None,
                           request_timeout_ms=5000)
    try:
        topics = {t for reads in _consumer_groups(faults).values() for t in reads}
        partitions = [TopicPartition(t, p) for t in sorted(topics) for p in reader.partitions_for_topic(t) or ()]
        return reader.end_offsets(partitions)
    finally:
        reader.close()


def _committed(faults: FaultStack, ends: dict[TopicPartition, int]) -> bool:
    """Each group has committed at least up to ``ends`` on the topics it reads: it fetched and committed again
    after the restart."""
    return not _behind(faults, ends)


def _behind(faults: FaultStack, ends: dict[TopicPartition, int]) -> list[str]:
    """Where a group's committed offset is short of ``ends`` (group, topic-partition, committed, end)."""
    admin = KafkaAdminClient(bootstrap_servers=[faults.bootstrap], client_id="recovery-test", request_timeout_ms=5000)
    short = []
    try:
        for group, topics in _consumer_groups(faults).items():
            committed = admin.list_group_offsets(group)[group]
            for partition, end in ends.items():
                if partition.topic not in topics or end == 0:
                    continue
                done = committed.get(partition)
                if done is None or done.offset < end:
                    short.append(f"{group} {partition.topic}-{partition.partition}: "
                                 f"{None if done is None else done.offset} < {end}")
        return short
    finally:
        admin.close()
