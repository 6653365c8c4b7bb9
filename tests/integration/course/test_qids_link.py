"""QIDS-SR16 by patient link, with Flask's test client on the orders app as ``bootstrap.build`` wires it (SMART
required, the real EHR sandbox, SQLite), for a patient of its own. Without the clinic's Questionnaire file QIDS-SR16
is scheduled and due but no link is offered, and the staff screen says why; with the test placeholder file the link
shows the file's texts (escaped), a positive item 12 raises the suicidality alert in the same request with the
crisis contacts first, the score is the QIDS-SR16 domain total, and the QuestionnaireResponse in the outbox names
the clinic's Questionnaire with its answer codes. A bad file stops the start (``build`` exits naming it).
HZ-173..HZ-175."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from services.orders.bootstrap import build
from services.orders.domain.eligibility import EligibilityDecision, EligibilityStatus
from services.orders.repository import OrdersRepository
from shared.db import outbox
from shared.scales import Scale, total_score
from tests.integration.course.test_page import ORIGIN, SCOPE, _csrf
from tests.integration.orders.support import patient_of_its_own
from tests.support.clinic_zone import clinic_today
from tests.support.in_process import smart_service_runtime
from tests.support.practitioners import prescriber, registered_nurse
from tests.support.smart_sessions import signed_in

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[2] / "fixtures" / "qids_sr16_test_placeholder_questionnaire.json"
CANONICAL = "https://clinic.test.example/fhir/Questionnaire/qids-sr16-test-placeholder|test-1"
ITEMS = (1, 0, 3, 0, 2, 1, 0, 0, 0, 1, 2, 2, 1, 1, 0, 3)  # item 12 = 2: the default alert threshold
JSON = {"Accept": "application/json"}


def _stack(tmp_path, monkeypatch, ehr, questionnaire: Path | None):
    monkeypatch.setenv("ORDERS_COURSE_ALERT_SEND_WAIT_S", "0")  # no broker here: the alert stays in the outbox
    monkeypatch.setenv("ORDERS_COURSE_PRO_SCALES", "phq-9,qids-sr16")
    if questionnaire is not None:
        monkeypatch.setenv("ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE", str(questionnaire))
    runtime = smart_service_runtime("orders", tmp_path, monkeypatch, ehr)
    app, _handlers, _responses = build(runtime)
    return app, runtime


def _course(app, runtime, ehr, cookie: str):
    patient_id = patient_of_its_own(ehr.client)
    with runtime.engine.begin() as conn:
        OrdersRepository().save_eligibility(conn, EligibilityDecision(
            patient_id, "intake-qids", EligibilityStatus.ELIGIBLE, True, datetime.now(timezone.utc)))
    client = signed_in(app, patient_id, fhir_user=registered_nurse(ehr.client).fhir_user, scope=SCOPE,
                       cookie=cookie, iss=ehr.base_url)
    created = client.post("/orders", json={"patient_id": patient_id, "start_date": clinic_today().isoformat(),
                                           "created_by": "Dr. Test"})
    assert created.status_code == 201, created.data
    prescribing = signed_in(app, patient_id, fhir_user=prescriber(ehr.client).fhir_user, scope=SCOPE,
                            cookie=f"{cookie}-prescriber", iss=ehr.base_url)
    signed = prescribing.post(f"/orders/{created.json['order_id']}/sign",
                              json={"signed_by": "Dr. Test", "attested": True})
    assert signed.status_code == 200, signed.data
    return client, patient_id, client.get(f"/patients/{patient_id}/course").json["course_id"]


def test_without_the_clinics_file_qids_sr16_is_due_but_has_no_link_and_the_screen_says_why(tmp_path, monkeypatch,
                                                                                             ehr):
    app, runtime = _stack(tmp_path, monkeypatch, ehr, None)
    client, _patient_id, course_id = _course(app, runtime, ehr, "cookie-qids-none")
    page = client.get("/ui/course/questionnaires")
    assert page.status_code == 200
    assert b'data-scale="qids-sr16"' in page.data  # scheduled and listed as due
    assert b'<option value="qids-sr16"' not in page.data and b'<option value="phq-9"' in page.data
    why = re.search(rb'data-testid="no-link-scales">(.*?)</p>', page.data, re.S).group(1).decode()
    assert "QIDS-SR16 has no patient link" in why and "ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE" in why
    refused = client.post(f"/courses/{course_id}/patient-links", json={"scale": "qids-sr16"}, headers=JSON)
    assert refused.status_code == 400 and "cannot be sent as a link" in refused.text


def test_a_qids_sr16_link_shows_the_clinics_texts_scores_by_the_domain_rule_and_raises_the_alert(tmp_path,
                                                                                                 monkeypatch, ehr):
    # The clinic's texts go on the page as text: a test file with markup in one item shows it escaped.
    marked = json.loads(FIXTURE.read_text())
    marked["item"][0]["text"] = "Test item 1 <b>placeholder</b> & markup"
    questionnaire = tmp_path / "qids-sr16-test-placeholder.json"
    questionnaire.write_text(json.dumps(marked))
    app, runtime = _stack(tmp_path, monkeypatch, ehr, questionnaire)
    client, patient_id, course_id = _course(app, runtime, ehr, "cookie-qids-file")

    staff = client.get("/ui/course/questionnaires")
    assert b'<option value="qids-sr16"' in staff.data and b'data-testid="no-link-scales"' not in staff.data
    made = client.post(f"/ui/course/{course_id}/patient-links", data={"csrf_token": _csrf(staff.data),
                                                                      "scale": "qids-sr16"}, headers=ORIGIN)
    assert made.status_code == 200, made.data
    url = re.search(rb'id="patient-link-url" value="([^"]+)"', made.data).group(1).decode()
    path = "/q/" + url.rsplit("/q/", 1)[1]

    patient = app.test_client()  # no session: the token is the only credential
    form = patient.get(path)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    html = form.data.decode()
    assert html.count('class="question') == 16
    assert "Test placeholder questionnaire" in html and "Test stem: placeholder" in html
    assert "Test item 1 &lt;b&gt;placeholder&lt;/b&gt; &amp; markup" in html and "<b>placeholder" not in html
    assert "Test item 12 answer 2" in html and "Test item 16 answer 3" in html
    assert patient_id not in html

    missing = patient.post(path, data={f"item-{n}": str(v) for n, v in enumerate(ITEMS, start=1) if n != 12})
    assert missing.status_code == 400 and b'href="#item-12"' in missing.data

    answered = patient.post(path, data={f"item-{n}": str(v) for n, v in enumerate(ITEMS, start=1)})
    assert answered.status_code == 201, answered.data
    text = answered.data.decode()
    assert text.index('data-testid="crisis-contacts"') < text.index("answers-sent") and "988" in text

    course = client.get(f"/patients/{patient_id}/course", headers=JSON).json
    [alert] = [a for a in course["alerts"] if a["source"] == "qids-sr16-item12"]
    assert alert["acknowledged_at"] is None
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.event_code, outbox.c.payload).order_by(outbox.c.id)).all()
    assert any(row.event_code == "suicidality-alert" for row in rows)
    [recorded] = [json.loads(row.payload) for row in rows if row.event_code == "score-recorded"]
    resources = [entry["resource"] for entry in recorded["entry"]]
    [response] = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    [observation] = [r for r in resources if r["resourceType"] == "Observation"]
    assert response["questionnaire"] == CANONICAL
    assert [item["linkId"] for item in response["item"]] == [f"test-q{n}" for n in range(1, 17)]
    assert response["item"][11]["answer"][0]["valueCoding"]["code"] == "q12-a2"
    assert observation["valueQuantity"]["value"] == total_score(Scale.QIDS_SR16, ITEMS) == 16 != sum(ITEMS)

    assert patient.post(path, data={f"item-{n}": "0" for n in range(1, 17)}).status_code == 410  # used


def test_a_bad_questionnaire_file_stops_the_start(tmp_path, monkeypatch, ehr):
    broken = json.loads(FIXTURE.read_text())
    broken["item"][10], broken["item"][11] = broken["item"][11], broken["item"][10]  # items 11 and 12 swapped
    questionnaire = tmp_path / "qids-sr16-swapped.json"
    questionnaire.write_text(json.dumps(broken))
    with pytest.raises(SystemExit) as stopped:
        _stack(tmp_path, monkeypatch, ehr, questionnaire)
    message = str(stopped.value.code)
    assert message.startswith("orders: configuration error: ORDERS_COURSE_PRO_QIDS_SR16_QUESTIONNAIRE: ")
    assert str(questionnaire) in message and "item[10].code" in message
