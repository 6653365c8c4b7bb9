"""One orders service process for the orders integration tests (real broker and EHR sandbox from the session
fixtures), and a way to give a seeded patient an intake eligibility decision."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from shared.events.topics import INTAKE_EVENTS
from tests.integration.orders.support import eligibility_message, patient_id_for
from tests.support.kafka_tools import publish, wait_for
from tests.support.processes import service


# The clinic stocks 10 and 100 mg/mL and doses its own orders from 10 mg/mL (the default): a CPOE order may name
# either (issue 13 defect 1).
ORDERS_ENV = {"ORDERS_STOCKED_PRODUCTS": "ketamine-10,ketamine-100", "ORDERS_DOSING_PRODUCT": "ketamine-10"}


@pytest.fixture(scope="package")
def orders_url(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base_url = service("orders", log_dir, tmp_path_factory.mktemp("orders"), broker.bootstrap,
                                ehr.base_url, extra_env=ORDERS_ENV)
    process.start()
    yield base_url
    process.stop()


@pytest.fixture(scope="package")
def patients(ehr) -> dict[str, str]:
    """MRN → EHR Patient id of the seeded patients."""
    return {mrn: patient_id_for(ehr, mrn) for mrn in ("KL-1001", "KL-1002", "KL-1003", "KL-1004")}


@pytest.fixture(scope="package")
def decide(broker, orders_url: str) -> Callable[..., dict]:
    """Publish an intake decision for a patient and wait until the orders service holds it."""

    def publish_decision(patient_id: str, outcome: str = "eligible", consent_status: str = "active") -> dict:
        message = eligibility_message(patient_id, outcome, consent_status)
        intake_id = message["entry"][1]["resource"]["identifier"][0]["value"]
        publish(broker.bootstrap, INTAKE_EVENTS, message, key=patient_id)

        def stored() -> dict | None:
            answer = requests.get(f"{orders_url}/patients/{patient_id}/eligibility", timeout=5)
            body = answer.json() if answer.status_code == 200 else {}
            return body if body.get("intake_id") == intake_id else None

        return wait_for(stored, timeout_s=20, what=f"the {outcome} decision to reach orders")

    return publish_decision
