"""The documentation service as a real process (web and worker in one), against the session's broker and EHR."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.documentation.clinic import Clinic
from tests.support.processes import service


@pytest.fixture(scope="package")
def clinic(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    process, base_url = service("documentation", log_dir, tmp_path_factory.mktemp("documentation"),
                                broker.bootstrap, ehr.base_url)
    process.start()
    yield Clinic(base_url, broker.bootstrap, ehr)
    process.stop()
