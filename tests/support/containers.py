"""testcontainers, used only when a Docker engine answers (none does on the team's machines or in CI here; the
same tests then start local processes). Images are pinned."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.1"
HAPI_IMAGE = "hapiproject/hapi:v7.4.0"


def docker_available() -> bool:
    if os.environ.get("KETALINK_NO_TESTCONTAINERS"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, no socket, no permission: all mean "not available"
        return False


@contextmanager
def kafka_container() -> Iterator[str]:
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer(KAFKA_IMAGE) as kafka:
        yield kafka.get_bootstrap_server()


@contextmanager
def hapi_container() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer

    with DockerContainer(HAPI_IMAGE).with_exposed_ports(8080) as hapi:
        base_url = f"http://{hapi.get_container_host_ip()}:{hapi.get_exposed_port(8080)}/fhir"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base_url}/metadata", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        yield base_url
