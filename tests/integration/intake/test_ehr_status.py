"""What the EHR did with an intake's decision, against the real broker, EHR sandbox and intake service: applied, or
refused when the EHR closed the patient's chart (``deploy/ehr_sandbox/chart_rules.py``), with the EHR's reason on
the intake and in the service's "not in the EHR" list."""
from __future__ import annotations

import pytest
import requests

from tests.integration.documentation.charting import close_chart, new_patient
from tests.integration.intake.steps import decide, get, record_all, screen, start
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
CLOSED_CHART = "is not active in the EHR"


def _decided_intake(intake_url: str, patient_id: str) -> str:
    started = start(intake_url, patient_id)
    assert started.status_code == 201, started.text
    intake_id = started.json()["intake_id"]
    record_all(intake_url, intake_id, screen())
    return intake_id


def _status_becomes(intake_url: str, intake_id: str, status: str) -> dict:
    return wait_for(lambda: (intake := get(intake_url, intake_id))["ehr_status"]["status"] == status and intake,
                    timeout_s=60, what=f"intake {intake_id} {status} by the EHR")


def test_a_decision_applied_and_one_refused_by_the_ehr(ehr, intake_url):
    open_chart, _ = new_patient(ehr.client, family="Applied")
    applied_id = _decided_intake(intake_url, open_chart)
    assert get(intake_url, applied_id)["ehr_status"]["status"] == "not-sent"
    decide(intake_url, applied_id)
    applied = _status_becomes(intake_url, applied_id, "applied")
    assert [m["ehr_response"] for m in applied["ehr_messages"]] == ["ok"]

    closed_chart, _ = new_patient(ehr.client, family="Closed")
    refused_id = _decided_intake(intake_url, closed_chart)
    close_chart(ehr.client, closed_chart)
    decide(intake_url, refused_id)
    refused = _status_becomes(intake_url, refused_id, "refused")
    (message,) = refused["ehr_messages"]
    assert message["ehr_response"] == "fatal-error" and CLOSED_CHART in message["ehr_issues"][0]
    status = refused["ehr_status"]
    assert status["kind"] == "Intake" and CLOSED_CHART in status["reasons"][0]
    assert status["refused_messages"] == [message["message_id"]] and "reopen the intake" in status["what_to_do"]

    listed = requests.get(f"{intake_url}/ehr-status/not-in-ehr", timeout=5).json()
    rows = {row["record_id"]: row for row in listed["records"]}
    assert rows[refused_id]["status"] == "refused" and rows[refused_id]["link"] == f"/ui/intakes/{refused_id}"
    assert rows[refused_id]["event_code"] == "intake-eligibility-decided"
    assert applied_id not in rows
