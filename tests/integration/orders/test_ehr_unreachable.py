"""With the EHR unreachable the orders API answers 503 (``transient``) and writes nothing. A second orders process,
web only (no consumer, so it takes no messages from the real one), points at a port where nothing listens."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from deploy.local.ports import free_port
from tests.support.processes import service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def orders_without_ehr(broker, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base_url = service("orders", log_dir, tmp_path_factory.mktemp("orders-no-ehr"), broker.bootstrap,
                                f"http://127.0.0.1:{free_port()}/fhir",
                                {"RUN_WORKER": "false", "EHR_TIMEOUT_S": "1"})
    process.start()
    yield base_url
    process.stop()


def test_ehr_unreachable_is_a_503_transient_and_nothing_is_written(orders_without_ehr):
    body = {"patient_id": "any-patient", "start_date": datetime.now(timezone.utc).date().isoformat(),
            "created_by": "Dr. A"}
    for path in ("/dose-preview", "/orders"):
        answer = requests.post(f"{orders_without_ehr}{path}", json=body if path == "/orders" else {
            "patient_id": "any-patient"}, timeout=30)
        assert answer.status_code == 503, answer.text
        assert answer.json()["issue"][0]["code"] == "transient"
    series = requests.get(f"{orders_without_ehr}/patients/any-patient/series", timeout=5).json()
    assert series["series"] == []
