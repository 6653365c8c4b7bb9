"""The intake service as a real process against the session's broker and EHR sandbox, started once for these
tests; a second one (no worker) points at an EHR that does not answer, for the outage case."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.ports import free_port
from tests.support.processes import service


@pytest.fixture(scope="package")
def intake_url(log_dir: Path, broker, ehr, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base_url = service("intake", log_dir, tmp_path_factory.mktemp("intake"), broker.bootstrap, ehr.base_url)
    process.start()
    yield base_url
    process.stop()


@pytest.fixture(scope="package")
def intake_without_ehr_url(log_dir: Path, broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Web only (RUN_WORKER=false: it must not join the consumer group), EHR on a port nobody listens on."""
    dead_ehr = f"http://127.0.0.1:{free_port()}/fhir"
    process, base_url = service("intake", log_dir, tmp_path_factory.mktemp("intake-no-ehr"), broker.bootstrap,
                                dead_ehr, {"RUN_WORKER": "false", "EHR_TIMEOUT_S": "1"})
    process.log_path = log_dir / "intake-no-ehr.log"
    process.start()
    yield base_url
    process.stop()
