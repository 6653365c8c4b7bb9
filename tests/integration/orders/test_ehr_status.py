"""What the EHR did with an order's messages, against the real broker, EHR sandbox and orders service: a signed
order applied, then one the EHR refuses (its patient's chart closed: ``deploy/ehr_sandbox/chart_rules.py``) with the
EHR's reason on the order and in the service's "not in the EHR" list, with the treatment course's message about the
new series waiting on the EHR's retry; a draft has sent nothing."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from tests.integration.documentation.charting import close_chart, new_patient
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
CLOSED_CHART = "is not active in the EHR"
PRESCRIBER = "Dr. Ada Prescriber"


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url, json=body, timeout=15)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _ehr_status(orders_url: str, order_id: str) -> dict[str, Any]:
    return requests.get(f"{orders_url}/orders/{order_id}", timeout=5).json()["ehr_status"]


def _status_becomes(orders_url: str, order_id: str, status: str) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        found = _ehr_status(orders_url, order_id)
        return found if found["status"] == status else None

    return wait_for(read, timeout_s=60, what=f"order {order_id} {status} by the EHR")


def _draft(orders_url: str, patient_id: str) -> dict[str, Any]:
    return _post(f"{orders_url}/orders", {"patient_id": patient_id, "created_by": PRESCRIBER,
                                          "start_date": datetime.now(timezone.utc).date().isoformat()})


def test_an_order_applied_then_one_refused_by_the_ehr(orders_url, decide, ehr):
    patient_id, _mrn = new_patient(ehr.client, family="Orders")
    decide(patient_id)
    first = _draft(orders_url, patient_id)
    assert first["status"] == "draft"
    assert _ehr_status(orders_url, first["order_id"]) == {
        "status": "not-sent", "label": "Nothing sent to the EHR yet", "kind": "Order", "reasons": [],
        "refused_messages": [], "what_to_do": None, "messages": []}
    _post(f"{orders_url}/orders/{first['order_id']}/sign", {"signed_by": PRESCRIBER, "attested": True})
    applied = _status_becomes(orders_url, first["order_id"], "applied")
    assert [m["event_code"] for m in applied["messages"]] == ["order-signed"] and applied["reasons"] == []

    _post(f"{orders_url}/orders/{first['order_id']}/cancel", {"by": PRESCRIBER, "reason": "wrong start date"})
    cancelled = wait_for(lambda: (found := _ehr_status(orders_url, first["order_id"]))["status"] == "applied"
                         and len(found["messages"]) == 2 and found, what="the cancellation applied by the EHR")
    assert [m["event_code"] for m in cancelled["messages"]] == ["order-signed", "order-cancelled"]
    close_chart(ehr.client, patient_id)
    second = _draft(orders_url, patient_id)
    _post(f"{orders_url}/orders/{second['order_id']}/sign", {"signed_by": PRESCRIBER, "attested": True})
    refused = _status_becomes(orders_url, second["order_id"], "refused")
    (message,) = refused["messages"]
    assert message["event_code"] == "order-signed" and CLOSED_CHART in message["reasons"][0]
    assert refused["reasons"] == message["reasons"] and "Do not give an infusion" in refused["what_to_do"]
    assert _ehr_status(orders_url, first["order_id"]) == cancelled  # still in the chart, cancelled

    listed = requests.get(f"{orders_url}/ehr-status/not-in-ehr", timeout=5).json()
    rows = [r for r in listed["records"] if r["record_id"] == second["order_id"]]
    assert [(r["status"], r["record_kind"], r["link"]) for r in rows] == [
        ("refused", "order", f"/ui/orders/{second['order_id']}")]
    assert CLOSED_CHART in rows[0]["reasons"][0]
    assert not [r for r in listed["records"] if r["record_id"] == first["order_id"]]
    # The treatment course follows the new series (course-changed), pointing at the order the EHR never filed: the
    # EHR's engine holds it and answers transient-error. Listed under the course, its page linked.
    course_rows = wait_for(lambda: [r for r in requests.get(f"{orders_url}/ehr-status/not-in-ehr", timeout=5).json()[
        "records"] if r["record_kind"] == "course" and r["patient_id"] == patient_id], what="the course's message")
    assert {(r["status"], r["link"], r["kind"]) for r in course_rows} == {
        ("retrying", "/ui/course", "Treatment course")}
    assert course_rows[0]["reasons"] == ["the EHR failed to apply it; the integration engine retries it"]
