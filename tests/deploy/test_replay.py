"""deploy/docker/ketalink_replay.py, the image's old replay entry point, is now ``python -m shared.ops`` for the
image's service (KETALINK_SERVICE): against the session's real broker it lists that service's dead letters, and a
replay without a reason is refused with exit 2 before anything is read. The replay itself (applied once, audited) is
proved in tests/integration/test_ops_dead_letters.py."""
from __future__ import annotations

import os
import subprocess
import sys

from deploy.render import layout

DOCKER_DIR = layout.ROOT / "deploy" / "docker"


def replay(bootstrap: str, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KAFKA_")}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap, PYTHONPATH=f"{DOCKER_DIR}{os.pathsep}{layout.ROOT}",
               KETALINK_SERVICE="intake", DATABASE_URL=f"sqlite:///{tmp_path / 'intake.db'}")
    return subprocess.run([sys.executable, "-m", "ketalink_replay", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)


def test_the_old_entry_point_runs_the_ops_cli_for_the_image_service(broker, tmp_path):
    listed = replay(broker.bootstrap, tmp_path, "dead-letters", "list")
    assert listed.returncode == 0, listed.stderr
    assert "dead letter(s) of ketalink-intake" in listed.stderr
    refused = replay(broker.bootstrap, tmp_path, "dead-letters", "replay", "--all")
    assert refused.returncode == 2 and "--reason" in refused.stderr and "Traceback" not in refused.stderr
    named = replay(broker.bootstrap, tmp_path, "orders", "outbox")
    assert named.returncode == 0 and named.stdout.startswith("pending 0;"), named.stderr
