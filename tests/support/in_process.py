"""A service built in the test process against the suite's EHR with SMART on: its own SQLite store in ``tmp_path``,
its backend token for its own EHR reads (``tests/support/backend_auth.py``), no broker (the Kafka glue is not run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from tests.support.backend_auth import service_tokens


def smart_service_runtime(service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ehr: Any) -> ServiceRuntime:
    """The runtime of ``service`` with SMART required and the suite's EHR as the only allowed issuer."""
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    monkeypatch.setenv("SMART_ALLOWED_ISSUERS", ehr.base_url)
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / f'{service}.db'}", ehr_fhir_base_url=ehr.base_url)
    return ServiceRuntime(service, settings, KafkaSettings(), ehr_tokens=service_tokens(service, ehr.base_url))
