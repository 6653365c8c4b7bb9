"""Dead letters through the operations CLI (``python -m shared.ops``), against the session's real broker, the EHR
sandbox and the intake service as a process: a referral the intake consumer gave up on (dead-lettered by the real
consumer loop, as a defect in a build would make it) is listed with ids and reason only, shown (its payload only with
--payload), replayed into ehr.events once (applied once: one intake) and once more (still one intake: the consumer's
processed-message store), and another is discarded (never applied). Every action is audited in ops_actions."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from deploy.ehr_sandbox.ehr_events import record_and_announce, referral
from shared.db import create_database, ops_actions, processed_messages
from shared.events.consumer import ANY_EVENT, ConsumerLoop, ConsumerPolicy, MessageProcessor, PermanentError
from shared.events.event_codes import REFERRAL_REQUESTED
from shared.events.kafka_clients import KafkaSettings, create_consumer, create_producer
from shared.events.topics import ACCESS, EHR_EVENTS, dead_letter_topic
from shared.fhir.messaging import Message
from tests.integration.intake.steps import announce_referral, intakes_for_referral, patient_id
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.processes import service, start_group_at_end

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DEFECT = "simulated defect: referral not understood"


class BrokenBuild:
    """An intake consumer with a defect for the messages named in ``refuse``: the real consumer loop dead-letters
    them under the intake consumer's name, with the headers it always writes. Everything else it ignores."""

    def __init__(self, refuse: set[str]):
        self.refuse = refuse

    def __call__(self, message: Message, _conn) -> None:
        if message.message_id in self.refuse:
            raise PermanentError(DEFECT)


def ops_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "shared.ops", "intake", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ok(env: dict[str, str], *args: str) -> str:
    result = ops_cli(env, *args)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def _listing_with(env: dict[str, str], ids: set[str]) -> str:
    out = ok(env, "dead-letters", "list")
    return out if all(i in out for i in ids) else ""


@pytest.fixture
def intake(broker, ehr, log_dir: Path, tmp_path: Path) -> Iterator[tuple[object, str, dict[str, str]]]:
    """The intake process (not started: the test starts it), its URL and the CLI's environment for it."""
    process, base_url = service("intake", log_dir, tmp_path, broker.bootstrap, ehr.base_url, label="ops")
    env = {**os.environ, "DATABASE_URL": process.env["DATABASE_URL"], "CONSUMER_GROUP": process.env["CONSUMER_GROUP"],
           "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap}
    env = {k: v for k, v in env.items() if not k.startswith("KAFKA_") or k == "KAFKA_BOOTSTRAP_SERVERS"}
    yield process, base_url, env
    process.stop()


def test_a_dead_letter_replayed_is_applied_once_and_a_discarded_one_never(broker, ehr, intake, tmp_path):
    process, intake_url, env = intake
    group = process.env["CONSUMER_GROUP"]
    patient = patient_id(ehr, "KL-1002")
    replayed_request, replayed_message = record_and_announce(ehr.client, referral(patient), REFERRAL_REQUESTED)
    discarded_request, discarded_message = record_and_announce(ehr.client, referral(patient), REFERRAL_REQUESTED)
    ids = {replayed_message["entry"][0]["resource"]["id"], discarded_message["entry"][0]["resource"]["id"]}
    replayed_id = replayed_message["entry"][0]["resource"]["id"]

    # A broken build of intake's consumer dead-letters both (its own Kafka group, intake's consumer name).
    settings = KafkaSettings(bootstrap_servers=broker.bootstrap, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    broken_group = f"test-broken-{uuid.uuid4().hex[:8]}"
    start_group_at_end(broker.bootstrap, broken_group, (EHR_EVENTS,))
    loop = ConsumerLoop(MessageProcessor(create_database(f"sqlite:///{tmp_path / 'broken.db'}"),
                                         {ANY_EVENT: BrokenBuild(ids)}),
                        lambda: create_consumer(settings, broken_group, [EHR_EVENTS], broken_group),
                        lambda: create_producer(settings, broken_group), ConsumerPolicy(), name=group)
    loop.start()
    try:
        for message in (replayed_message, discarded_message):
            publish(broker.bootstrap, EHR_EVENTS, message, key=patient)
        listed = wait_for(lambda: _listing_with(env, ids), timeout_s=120,
                          what="both referrals on intake's dead letters")
    finally:
        loop.stop()

    lines = {i: next(line for line in listed.splitlines() if i in line) for i in ids}
    for line in lines.values():
        assert "ehr.events.dlq:" in line and "source=ehr.events:" in line and f"event={REFERRAL_REQUESTED}" in line
        assert f"reason: PermanentError: {DEFECT}" in line or f"reason: {DEFECT}" in line
    assert "resourceType" not in listed and patient not in listed and replayed_request["id"] not in listed, \
        "the list shows ids and reasons, never the payload"
    replayed_ref = lines[replayed_id].split()[0]
    discarded_ref = lines[(ids - {replayed_id}).pop()].split()[0]

    shown = ok(env, "dead-letters", "show", replayed_ref)
    assert f"message id: {replayed_id}" in shown and f"event code: {REFERRAL_REQUESTED}" in shown
    assert f"consumer: {group}" in shown and "resourceType" not in shown
    assert replayed_request["id"] in ok(env, "dead-letters", "show", replayed_ref, "--payload")

    # The service starts after the defect is fixed, past what it would have read (the records are dead letters now).
    start_group_at_end(broker.bootstrap, group, ACCESS["intake"].reads)
    process.start()

    dry = ok(env, "dead-letters", "replay", replayed_ref, "--reason", "defect fixed in 1.4.2")
    assert f"would replay {replayed_ref} -> ehr.events" in dry
    assert replayed_ref in ok(env, "dead-letters", "list"), "a dry run changes nothing"

    assert f"replayed {replayed_ref} -> ehr.events" in ok(env, "dead-letters", "replay", replayed_ref, "--reason",
                                                          "defect fixed in 1.4.2", "--apply")
    wait_for(lambda: intakes_for_referral(intake_url, patient, replayed_request["id"]), timeout_s=90,
             what="the replayed referral's intake")
    ok(env, "dead-letters", "replay", replayed_ref, "--reason", "replayed again by mistake", "--apply")
    sentinel, _ = announce_referral(broker, ehr, patient)  # same key, same partition: handled after the replay
    wait_for(lambda: intakes_for_referral(intake_url, patient, sentinel["id"]), timeout_s=90,
             what="the sentinel referral's intake, behind the second replay")
    assert len(intakes_for_referral(intake_url, patient, replayed_request["id"])) == 1, "applied once"

    ops_cli_discard = ok(env, "dead-letters", "discard", discarded_ref, "--reason", "duplicate referral, withdrawn")
    assert f"discarded {discarded_ref}" in ops_cli_discard
    assert intakes_for_referral(intake_url, patient, discarded_request["id"]) == [], "a discarded one is never applied"

    waiting = ok(env, "dead-letters", "list")
    assert replayed_ref not in waiting and discarded_ref not in waiting
    settled = ok(env, "dead-letters", "list", "--include-settled")
    assert f"{replayed_ref} " in settled and "[dead-letter-replay]" in settled and "[dead-letter-discard]" in settled

    replays = [r for r in read_all(broker.bootstrap, EHR_EVENTS)
               if (dict(r.headers).get("ketalink-replayed-from") or b"").decode() == replayed_ref]
    assert len(replays) == 2 and all(r.key == patient.encode() for r in replays)
    assert all(not name.startswith("dlq-") for r in replays for name, _ in r.headers)

    store = create_engine(env["DATABASE_URL"])
    with store.connect() as conn:
        applied = conn.execute(select(func.count()).select_from(processed_messages)
                               .where(processed_messages.c.message_id == replayed_id)).scalar_one()
        audit = conn.execute(select(ops_actions).order_by(ops_actions.c.id)).mappings().all()
    store.dispose()
    assert applied == 1
    assert [(a["action"], a["target"], a["outcome"]) for a in audit] == [
        ("dead-letter-replay", replayed_ref, "done"), ("dead-letter-replay", replayed_ref, "done"),
        ("dead-letter-discard", discarded_ref, "done")]
    assert all(a["service"] == "intake" and a["actor"].startswith("cli:") and "@" in a["actor"] for a in audit)
    assert [a["reason"] for a in audit] == ["defect fixed in 1.4.2", "replayed again by mistake",
                                            "duplicate referral, withdrawn"]


def test_an_unknown_or_foreign_dead_letter_is_refused_with_exit_2(broker, intake):
    _process, _url, env = intake
    marker = uuid.uuid4().hex
    publish(broker.bootstrap, dead_letter_topic(EHR_EVENTS), f'{{"marker": "{marker}"}}'.encode(), key="p",
            headers=[("dlq-reason", b"not a FHIR message"), ("dlq-consumer", b"ketalink-orders-elsewhere"),
                     ("dlq-source-topic", EHR_EVENTS.encode())])
    record = next(r for r in read_all(broker.bootstrap, dead_letter_topic(EHR_EVENTS)) if marker.encode() in r.value)
    foreign_ref = f"{record.topic}:{record.partition}:{record.offset}"
    assert foreign_ref not in ok(env, "dead-letters", "list"), "another consumer's dead letter is not listed"
    other = ops_cli(env, "dead-letters", "replay", foreign_ref, "--reason", "x", "--apply")
    assert other.returncode == 2 and "not a dead letter of this service's consumer" in other.stderr
    missing = ops_cli(env, "dead-letters", "show", "ehr.events.dlq:0:999999999")
    assert missing.returncode == 2 and "no such record" in missing.stderr
    foreign = ops_cli(env, "dead-letters", "replay", "ketalink.orders.events.dlq:0:0", "--reason", "x", "--apply")
    assert foreign.returncode == 2 and "not one of this service's dead-letter topics" in foreign.stderr


def test_an_unreachable_broker_exits_1_without_a_traceback(intake):
    _process, _url, env = intake
    result = ops_cli({**env, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "KAFKA_REQUEST_TIMEOUT_MS": "2000"},
                     "dead-letters", "list")
    assert result.returncode == 1 and "Kafka" in result.stderr
