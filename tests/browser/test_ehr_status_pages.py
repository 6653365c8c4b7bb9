"""A signed note the EHR refuses, in a real browser: dr.okoye opens the documentation app from the sandbox chart for a
patient whose infusion was charted to discharge, signs the note after the EHR closed that patient's chart
(``Patient.active`` false: the sandbox's engine refuses what is filed to it, ``deploy/ehr_sandbox/chart_rules.py``),
and the note page then shows the refusal as an alert (role="alert", not the green notice) with the EHR's reason and
what to do; so does the session's flowsheet, and the service's "not in the EHR" list names the note."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests

from tests.browser.token_clinic import TokenClinic
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.integration.documentation.charting import close_chart, document_to_discharge, new_patient
from tests.integration.documentation.clinic import DOCTOR, clinical_times
from tests.support.kafka_tools import wait_for

pytestmark = pytest.mark.integration
APP = "documentation"
PRESCRIBER = "dr.okoye"
APP_SCOPES = "launch openid fhirUser online_access patient/*.cruds user/Practitioner.rs user/PractitionerRole.rs"
CLOSED_CHART = "is not active in the EHR"


def test_a_refused_signed_note_is_an_alert_on_the_note_and_session_pages(smart_stack, page):
    patient_id, mrn = new_patient(smart_stack.ehr_client, family="Refused")
    token = sandbox_token(smart_stack, APP, patient_id, APP_SCOPES, user=PRESCRIBER, ehr_launch=True)
    clinic = TokenClinic(smart_stack.services[APP], smart_stack.bootstrap,
                          SimpleNamespace(client=smart_stack.ehr_client), token)
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    path = f"/sessions/{session_id}"
    t = clinical_times(hours_ago=3)
    document_to_discharge(clinic, order, path, t)
    draft = clinic.post(f"{path}/notes", {"by": DOCTOR, "at": t(90)}, expect=201)

    launch_from_chart(page, smart_stack, APP, patient_id, PRESCRIBER)
    app = smart_stack.services[APP]
    page.goto(f"{app}/ui/sessions/{session_id}/note")
    assert page.get_by_test_id("ehr-refused").count() == 0
    close_chart(smart_stack.ehr_client, patient_id)  # the EHR closes the chart while the note waits to be signed
    page.get_by_test_id("attestation").check()
    page.get_by_role("button", name="Sign the note").click()
    assert "Signed by" in page.get_by_test_id("note-signed").inner_text()

    def alert_shown() -> bool:
        if page.get_by_test_id("ehr-refused").count():
            return True
        page.reload()
        return False

    wait_for(alert_shown, timeout_s=60, interval_s=1.0, what="the EHR's refusal on the note page")
    alert = page.get_by_test_id("ehr-refused")
    assert alert.get_attribute("role") == "alert"
    assert "Not in the EHR: the EHR refused this signed note" in alert.inner_text()
    reasons = alert.get_by_test_id("ehr-refused-reasons").inner_text()
    assert CLOSED_CHART in reasons and f"Patient/{patient_id}" in reasons
    assert "amend the note" in alert.inner_text()
    assert alert.locator("code").inner_text() in {m["message_id"] for m in
                                                  clinic.get(f"/notes/{draft['note_id']}")["ehr_status"]["messages"]}
    assert alert.get_attribute("class") == "ehr-refused"  # its own red box, not the green notice (role=status)
    screenshot(page, "documentation-note-refused-by-the-ehr")

    page.goto(f"{app}/ui/sessions/{session_id}")
    assert page.get_by_test_id("ehr-refused").get_attribute("role") == "alert"
    assert CLOSED_CHART in page.get_by_test_id("ehr-refused").inner_text()

    page.goto(f"{app}/ui/not-in-ehr")
    row = page.get_by_test_id("not-in-ehr-row").filter(has_text=draft["note_id"])
    assert "refused" in row.inner_text().lower() and CLOSED_CHART in row.inner_text()
    screenshot(page, "documentation-not-in-ehr")
    row.get_by_role("link", name=draft["note_id"]).click()
    page.wait_for_url(f"{app}/ui/sessions/{session_id}/note")
    assert page.get_by_test_id("ehr-refused").count() == 1


def test_the_list_shows_another_patients_rows_as_ids_and_statuses_only(smart_stack):
    """The "not in the EHR" list spans patients: with a token from one patient's chart, another patient's refused
    note is listed by kind, id, time and status, without its patient or the EHR's reasons; its own patient's token
    sees them; no token gets 401; the note itself stays out of the other patient's reach (403)."""
    app = smart_stack.services[APP]
    refused_patient, mrn = new_patient(smart_stack.ehr_client, family="Listed")
    token = sandbox_token(smart_stack, APP, refused_patient, APP_SCOPES, user=PRESCRIBER, ehr_launch=True)
    clinic = TokenClinic(app, smart_stack.bootstrap, SimpleNamespace(client=smart_stack.ehr_client), token)
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    path = f"/sessions/{order.session_id(1)}"
    close_chart(smart_stack.ehr_client, refused_patient)
    clinic.post(f"{path}/check-in", {"at": clinical_times(hours_ago=1)(0)})  # session-started: refused

    def listed(with_token: str) -> dict[str, Any] | None:
        answer = requests.get(f"{app}/ehr-status/not-in-ehr", headers={"Authorization": f"Bearer {with_token}"},
                              timeout=10)
        assert answer.status_code == 200, answer.text
        return next((r for r in answer.json()["records"] if r["record_id"] == order.session_id(1)), None)

    own = wait_for(lambda: listed(token), timeout_s=60, what="the refused session in the list")
    assert own["status"] == "refused" and own["patient_id"] == refused_patient and CLOSED_CHART in own["reasons"][0]
    other_patient, _ = new_patient(smart_stack.ehr_client, family="Bystander")
    other_token = sandbox_token(smart_stack, APP, other_patient, APP_SCOPES, user=PRESCRIBER, ehr_launch=True)
    theirs = listed(other_token)
    assert theirs is not None and theirs["status"] == "refused" and theirs["detail_withheld"] is True
    assert theirs["reasons"] is None and theirs["patient_id"] is None
    assert theirs["message_id"] == own["message_id"] and theirs["link"] == own["link"]
    assert requests.get(f"{app}/ehr-status/not-in-ehr", timeout=10).status_code == 401
    forbidden = requests.get(f"{app}{path}", headers={"Authorization": f"Bearer {other_token}"}, timeout=10)
    assert forbidden.status_code == 403

