"""Issue 13 defect 23 over the real broker and EHR sandbox: reopening an intake withdraws its eligibility decision in
orders (and in the EHR). The intake and orders services run as real processes; orders hears of the reopening only
through ``intake-reopened`` on ketalink.intake.events."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.intake import steps as intake
from tests.support.kafka_tools import wait_for
from tests.support.service_stack import services_reading_from_the_end
from tests.support.clinic_zone import clinic_today

pytestmark = pytest.mark.integration
PRESCRIBER = "Dr Ada Prescriber"


@pytest.fixture(scope="module")
def stack(broker, ehr, log_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with services_reading_from_the_end(("intake", "orders"), "reopen", broker.bootstrap, ehr.base_url, log_dir,
                                       tmp_path_factory.mktemp("reopen")) as urls:
        yield urls


def _eligibility(orders_url: str, patient_id: str) -> dict:
    answer = requests.get(f"{orders_url}/patients/{patient_id}/eligibility", timeout=5)
    return answer.json() if answer.status_code == 200 else {}


def _wait_for_status(orders_url: str, patient_id: str, status: str, what: str) -> dict:
    return wait_for(lambda: (e := _eligibility(orders_url, patient_id)).get("status") == status and e,
                    timeout_s=30, what=what)


def _ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.text}"
    return response.json()


def test_a_reopened_intake_stops_orders_creating_signing_and_running_an_order(stack, ehr):
    patient_id = intake.patient_id(ehr, "KL-1003")
    intake_id = _ok(intake.start(stack["intake"], patient_id), 201)["intake_id"]
    intake.record_all(stack["intake"], intake_id, intake.screen())
    assert intake.decide(stack["intake"], intake_id)["decision"]["outcome"] == "eligible"
    _wait_for_status(stack["orders"], patient_id, "eligible", "orders to hear the eligible decision")
    order_body = {"patient_id": patient_id, "start_date": clinic_today().isoformat(), "created_by": PRESCRIBER}
    draft_id = _ok(requests.post(f"{stack['orders']}/orders", json=order_body, timeout=10), 201)["order_id"]

    # The intake is reopened: orders hears it, and says so.
    intake.record_ok(stack["intake"], intake_id, "reopen", {"reopened_by": "Dr Grace Hopper",
                                                           "reason": "new cardiac history"}, "POST")
    withdrawn = _wait_for_status(stack["orders"], patient_id, "withdrawn", "orders to hear the intake reopened")
    assert withdrawn["may_order"] is False
    assert withdrawn["reasons"][0]["field"] == "eligibility.status"

    # No new order, no signature.
    refused = requests.post(f"{stack['orders']}/orders", json=order_body, timeout=10)
    assert refused.status_code == 422, refused.text
    assert "reopened" in refused.text
    refused_sign = requests.post(f"{stack['orders']}/orders/{draft_id}/sign",
                                 json={"signed_by": PRESCRIBER, "attested": True}, timeout=10)
    assert refused_sign.status_code == 422, refused_sign.text
    assert _ok(requests.get(f"{stack['orders']}/orders/{draft_id}", timeout=5))["status"] == "draft"

    # The EHR's copy of the decision is withdrawn too.
    risk_assessment = wait_for(lambda: (r := intake.in_ehr(ehr, "RiskAssessment", "eligibility", intake_id))
                               ["status"] == "cancelled" and r, timeout_s=30, what="the EHR's RiskAssessment cancelled")
    assert "reopened" in risk_assessment["note"][0]["text"]

    # A new decision: the draft may be signed. Reopened again: the active order goes on hold.
    assert intake.decide(stack["intake"], intake_id)["decision"]["outcome"] == "eligible"
    _wait_for_status(stack["orders"], patient_id, "eligible", "orders to hear the new decision")
    signed = _ok(requests.post(f"{stack['orders']}/orders/{draft_id}/sign",
                               json={"signed_by": PRESCRIBER, "attested": True}, timeout=10))
    assert signed["status"] == "active"
    intake.record_ok(stack["intake"], intake_id, "reopen", {"reopened_by": "Dr Grace Hopper",
                                                           "reason": "pregnancy test pending"}, "POST")
    held = wait_for(lambda: (o := _ok(requests.get(f"{stack['orders']}/orders/{draft_id}", timeout=5)))["status"]
                    == "on-hold" and o, timeout_s=30, what="the active order put on hold")
    assert held["status"] == "on-hold"
    resumed = requests.post(f"{stack['orders']}/orders/{draft_id}/resume", json={"by": PRESCRIBER}, timeout=10)
    assert resumed.status_code == 422, resumed.text
