"""deploy/docker/ketalink_replay.py against the session's real broker (tests/conftest.py `broker`): records go back
to their source topic with key, value and original headers, once; without --apply nothing changes."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

from deploy.render import layout
from shared.events.kafka_clients import KafkaSettings, ensure_topics
from shared.events.topics import dead_letter_topic
from tests.support.kafka_tools import publish, read_all

DOCKER_DIR = layout.ROOT / "deploy" / "docker"


def replay(bootstrap: str, topic: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KAFKA_")}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap, PYTHONPATH=f"{DOCKER_DIR}{os.pathsep}{layout.ROOT}")
    result = subprocess.run([sys.executable, "-m", "ketalink_replay", topic, *extra], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_replay_moves_dead_letters_back_once(broker):
    marker = uuid.uuid4().hex
    # Topics of this test's own, so no service consumer in the same test session sees these records.
    source = f"ketalink.deploy-test-{marker[:8]}"
    dead_letter = dead_letter_topic(source)
    ensure_topics(KafkaSettings(bootstrap_servers=broker.bootstrap), [source, dead_letter])
    for number in (1, 2):
        publish(broker.bootstrap, dead_letter, f'{{"n": {number}, "marker": "{marker}"}}'.encode(),
                key=f"patient-{number}",
                headers=[("message-id", f"{marker}-{number}".encode()), ("dlq-reason", b"EHR down"),
                         ("dlq-source-topic", source.encode())])

    dry = replay(broker.bootstrap, dead_letter)  # the default: list only
    assert dry.stdout.count("reason: EHR down") >= 2
    assert not [r for r in read_all(broker.bootstrap, source) if marker.encode() in (r.value or b"")]

    replay(broker.bootstrap, dead_letter, "--apply")
    replayed = [r for r in read_all(broker.bootstrap, source) if marker.encode() in (r.value or b"")]
    assert sorted(r.key for r in replayed) == [b"patient-1", b"patient-2"]
    for record in replayed:
        names = [name for name, _ in record.headers]
        assert "message-id" in names and not any(name.startswith("dlq-") for name in names)

    again = replay(broker.bootstrap, dead_letter, "--apply")
    assert "reason:" not in again.stdout, "a second run replays only what was dead-lettered since"
    assert len([r for r in read_all(broker.bootstrap, source) if marker.encode() in (r.value or b"")]) == 2
