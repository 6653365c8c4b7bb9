"""One infusion of a patient at a time, against the real service process, broker and EHR sandbox: a patient with
two sessions ready to start (two series signed for one patient: a duplicate order) cannot have both infusing.
Two starts released together give one 200 and one 409 (every session of the patient is locked before the rule
reads them, ``shared/record_writes.py`` ``lock_patient_records``); the refused session stays in its pre-check and
sends nothing; the rule holds while the first is recovering and lets go once it is aborted. The page shows the
refusal in words (Flask's test client, as ``test_ui_forms``)."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from services.documentation.bootstrap import build
from services.documentation.domain import session as s
from services.documentation.domain.order import ScheduledOccurrence
from services.documentation.repository import Records
from shared.fhir.codes import BODY_WEIGHT
from tests.integration.documentation.charting import new_patient
from tests.integration.documentation.clinic import NURSE, Clinic, clinical_times, pre_check
from tests.integration.documentation.test_ui_forms import (  # noqa: F401  (fixtures)
    CONFIRMED, HTML, _kg, _minute, _post, _session_status, _signed_in, nurse, patients,
)
from tests.support.in_process import smart_service_runtime
from tests.unit.documentation.builders import make_order

pytestmark = pytest.mark.integration


def _two_sessions_ready(clinic: Clinic) -> tuple[str, str, str, object]:
    """A new patient with two series signed (infusion 1 of each today), both checked in and pre-checked."""
    _patient_id, mrn = new_patient(clinic.ehr.client, family="OneAtATime")
    first, second = clinic.publish_signed_order(mrn), clinic.publish_signed_order(mrn)
    for order in (first, second):
        clinic.wait_for_sessions(order)
    t = clinical_times(hours_ago=3)
    ids = (first.session_id(1), second.session_id(1))
    for n, session_id in enumerate(ids):
        clinic.post(f"/sessions/{session_id}/check-in", {"by": NURSE, "at": t(n)})
        clinic.post(f"/sessions/{session_id}/pre-check", pre_check(t(5 + n), 124, 80, reading_id=f"pre-{n}"))
    return first.patient_id, ids[0], ids[1], t


def _refusal_text(response: requests.Response) -> str:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return " ".join(issue.get("diagnostics", "") for issue in outcome["issue"])


def test_two_starts_released_together_give_one_infusion_and_one_409(clinic: Clinic):
    patient_id, first, second, t = _two_sessions_ready(clinic)
    barrier = threading.Barrier(2)

    def start(session_id: str) -> requests.Response:
        http = requests.Session()
        barrier.wait(timeout=30)
        return http.post(f"{clinic.base_url}/sessions/{session_id}/start", json={"by": NURSE, "at": t(10)},
                         timeout=60, headers={"Idempotency-Key": f"start-{uuid.uuid4().hex}"})

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = dict(zip((first, second), pool.map(start, (first, second))))

    assert sorted(r.status_code for r in answers.values()) == [200, 409], {k: r.text for k, r in answers.items()}
    started = next(sid for sid, r in answers.items() if r.status_code == 200)
    refused = next(sid for sid, r in answers.items() if r.status_code == 409)
    text = _refusal_text(answers[refused])
    assert f"session {started}" in text and "one infusion at a time" in text
    statuses = {row["session_id"]: row["status"] for row in clinic.get(f"/patients/{patient_id}/sessions")["sessions"]}
    assert statuses[started] == "infusing" and statuses[refused] == "pre-check"
    assert list(statuses.values()).count("infusing") == 1


def test_the_start_is_refused_while_the_other_recovers_and_allowed_once_it_is_aborted(clinic: Clinic):
    _patient_id, first, second, t = _two_sessions_ready(clinic)
    clinic.post(f"/sessions/{first}/start", {"by": NURSE, "at": t(10)})
    clinic.post(f"/sessions/{first}/end", {"by": NURSE, "at": t(50)})
    refused = clinic.call("POST", f"/sessions/{second}/start", {"by": NURSE, "at": t(55)}, expect=409)
    assert any(f"session {first}" in issue["diagnostics"] and "recovering" in issue["diagnostics"]
               for issue in refused["issue"])
    assert clinic.get(f"/sessions/{second}")["status"] == "pre-check"

    clinic.post(f"/sessions/{first}/abort", {"by": NURSE, "at": t(56), "reason": "patient unwell, sent to ED"})
    assert clinic.post(f"/sessions/{second}/start", {"by": NURSE, "at": t(60)})["status"] == "infusing"


@pytest.fixture
def two_series_app(tmp_path, monkeypatch, ehr, patients):  # noqa: F811
    """The pages as ``bootstrap.build`` wires them, KL-1003 with two series (``ord-a``, ``ord-b``) whose first
    infusions are both today."""
    runtime = smart_service_runtime("documentation", tmp_path, monkeypatch, ehr)
    flask_app, _handlers, _responses = build(runtime)
    start = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(second=0, microsecond=0)
    occurrences = tuple(ScheduledOccurrence(n, start + timedelta(days=3 * (n - 1)),
                                            start + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    weight = ehr.client.search_first_page("Observation", {
        "subject": f"Patient/{patients['KL-1003']}", "code": f"{BODY_WEIGHT.system}|{BODY_WEIGHT.code}",
        "_sort": "-date", "_count": 1})[0]
    dose_mg = float(round(0.5 * _kg(weight)))
    with runtime.engine.begin() as conn:
        for order_id, series_id in (("ord-a", "ser-a"), ("ord-b", "ser-b")):
            order = make_order(order_id=order_id, series_id=series_id, patient_id=patients["KL-1003"],
                               occurrences=occurrences, dose_mg=dose_mg,
                               weight_observation_reference=f"Observation/{weight['id']}")
            Records().add_order(conn, order)
            for session in s.sessions_for_order(order):
                Records().add_session(conn, session)
    return flask_app, start


def test_the_page_says_why_the_second_infusion_cannot_start(two_series_app, patients, nurse):  # noqa: F811
    app, start = two_series_app
    client = _signed_in(app, patients["KL-1003"], nurse)

    def t(minutes: int) -> str:
        return _minute(start + timedelta(minutes=minutes))

    for n, sid in enumerate(("ord-a-1", "ord-b-1")):
        assert _post(client, f"/ui/sessions/{sid}/check-in", {"at": t(n)}).status_code == 303
        assert _post(client, f"/ui/sessions/{sid}/pre-check", {
            **CONFIRMED, "at": t(5 + n), "reading.systolic_mmhg": "124", "reading.diastolic_mmhg": "78",
            "reading.heart_rate_per_min": "76", "reading.spo2_percent": "98"}).status_code == 303
    assert _post(client, "/ui/sessions/ord-a-1/start", {"at": t(10)}).status_code == 303

    refused = _post(client, "/ui/sessions/ord-b-1/start", {"at": t(12)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "another infusion of this patient is infusing: session ord-a-1" in html
    assert "discharge or abort that session first" in html
    assert _session_status(client, "ord-b-1") != "Infusing" and _session_status(client, "ord-a-1") == "Infusing"
