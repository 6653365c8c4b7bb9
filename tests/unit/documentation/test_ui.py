"""The documentation service's pages and API protection, in-process (Flask test client, SQLite, no EHR): every
endpoint declares its SMART requirement, the pages work only for the patient in context and only with the form
token, domain errors show next to the field, and a whole session can be charted through the pages to a signed note."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from services.documentation import ui, ui_ehr
from services.documentation.bootstrap import build
from services.documentation.domain import session as s
from services.documentation.domain.order import ScheduledOccurrence
from services.documentation.ehr_weights import EhrWeights
from services.documentation.records import Records
from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.smart.sessions import digest, session_from_token
from shared.ui import PatientBanner
from tests.unit.documentation.builders import make_order

ISS = "http://127.0.0.1:9/fhir"  # nothing listens: the EHR reads are stubbed, or degrade gracefully
PATIENT = "pat-42"
OTHER_PATIENT = "pat-7"
HTML = {"Accept": "text/html"}
FULL_SCOPES = "launch openid fhirUser patient/*.rs user/*.cruds"


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")  # a datetime-local value, clinic time (UTC by default)


@pytest.fixture
def start_time() -> datetime:
    return (datetime.now(timezone.utc) - timedelta(hours=3)).replace(second=0, microsecond=0)


@pytest.fixture
def app(tmp_path, monkeypatch, start_time):
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    monkeypatch.setenv("SMART_ALLOWED_ISSUERS", ISS)
    monkeypatch.setattr(EhrWeights, "latest_kg", lambda self, patient_id: 80.0)
    monkeypatch.setattr(EhrWeights, "observation_kg", lambda self, reference: 80.0)
    monkeypatch.setattr(ui, "patient_banner", lambda context, patient_id: PatientBanner(
        patient_id, "Rosa Gonzalez", 46, "female", 80.0, "2026-11-01", ("Penicillin",), True, "eligible"))
    monkeypatch.setattr(ui_ehr.ClinicianNames, "name", lambda self, context: "Grace Ng, RN")
    runtime = ServiceRuntime("documentation", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'doc.db'}",
                                                              ehr_fhir_base_url=ISS), KafkaSettings())
    flask_app, _handlers, _responses = build(runtime)
    records = Records()
    occurrences = tuple(ScheduledOccurrence(n, start_time + timedelta(days=3 * (n - 1)),
                                            start_time + timedelta(days=3 * (n - 1), hours=4)) for n in range(1, 7))
    with runtime.engine.begin() as conn:
        for patient, order_id in ((PATIENT, "ord-1"), (OTHER_PATIENT, "ord-2")):
            order = make_order(order_id=order_id, patient_id=patient, occurrences=occurrences)
            records.add_order(conn, order)
            for session in s.sessions_for_order(order):
                records.add_session(conn, session)
    return flask_app


def _signed_in(app, patient: str | None = PATIENT, scope: str = FULL_SCOPES):
    smart = app.extensions["smart"]
    secret = f"cookie-{patient}-{scope}"
    token = {"access_token": "at", "expires_in": 3600, "scope": scope, "patient": patient}
    smart.store.create(session_from_token(digest(secret), ISS, token, scope, f"{ISS}/Practitioner/nurse-1",
                                          time.time(), 3600))
    client = app.test_client()
    client.set_cookie(smart.cookie_name, secret)
    return client


def _csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_html).group(1)


def _post(client, path: str, data: dict, page: str | None = None):
    """Post a form as the browser does after loading ``page`` (its CSRF token, same-origin ``Origin``)."""
    html = client.get(page or path.rsplit("/", 1)[0], headers=HTML).get_data(as_text=True)
    return client.post(path, data={"csrf_token": _csrf(html), **data}, headers={**HTML, "Origin": "http://localhost"})


def _session_status(client, session_id: str) -> str:
    page = client.get(f"/ui/sessions/{session_id}", headers=HTML).get_data(as_text=True)
    return re.search(r'data-testid="session-status">([^<]+)<', page).group(1)


def test_every_endpoint_declares_its_smart_requirement(app):
    assert app.extensions["smart"].endpoints_without_requirements(app) == []


def test_without_a_launch_the_pages_and_the_api_answer_401(app):
    client = app.test_client()
    page = client.get("/", headers=HTML)
    assert page.status_code == 401 and 'data-smart-error="launch-required"' in page.get_data(as_text=True)
    api = client.get(f"/patients/{PATIENT}/sessions", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.json["resourceType"] == "OperationOutcome"
    assert client.get("/ui-static/ketalink.css").status_code == 200  # stylesheets stay open


def test_home_lists_the_sessions_of_the_patient_in_context_only(app):
    page = _signed_in(app).get("/", headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('data-session-id="ord-1-') == 6 and "ord-2-" not in html
    assert "Open infusion 1" in html and "Scheduled" in html
    assert "Rosa Gonzalez" in html and "Penicillin" in html and "Eligibility: eligible" in html


def test_without_the_ehr_the_page_says_the_banner_is_missing(app, monkeypatch):
    monkeypatch.setattr(ui, "patient_banner", ui_ehr.patient_banner)  # the real read, against no EHR at all
    html = _signed_in(app).get("/", headers=HTML).get_data(as_text=True)
    assert "did not give this patient" in html and 'data-session-id="ord-1-1"' in html


def test_another_patients_session_is_refused(app):
    client = _signed_in(app)
    page = client.get("/ui/sessions/ord-2-1", headers=HTML)
    assert page.status_code == 403 and "another patient" in page.get_data(as_text=True)
    refused = _post(client, "/ui/sessions/ord-2-1/check-in", {"at": ""}, page="/ui/sessions/ord-1-1")
    assert refused.status_code == 403
    assert _session_status(client, "ord-1-1") == "Scheduled"


def test_a_form_without_the_sessions_token_or_from_another_site_is_refused(app):
    client = _signed_in(app)
    no_token = client.post("/ui/sessions/ord-1-1/check-in", data={"at": ""}, headers=HTML)
    assert no_token.status_code == 403 and "Form refused" in no_token.get_data(as_text=True)
    html = client.get("/ui/sessions/ord-1-1", headers=HTML).get_data(as_text=True)
    cross_site = client.post("/ui/sessions/ord-1-1/check-in", data={"csrf_token": _csrf(html)},
                             headers={**HTML, "Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    other_browser = _signed_in(app, scope=FULL_SCOPES + " online_access")  # another session, another token
    assert other_browser.post("/ui/sessions/ord-1-1/check-in", data={"csrf_token": _csrf(html)},
                              headers=HTML).status_code == 403
    assert _session_status(client, "ord-1-1") == "Scheduled"


def test_a_token_without_the_scope_gets_403_on_the_page(app):
    client = _signed_in(app, scope="launch openid fhirUser patient/Encounter.rs")
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/ui/sessions/ord-1-1/note", headers=HTML).status_code == 403  # DocumentReference.r


def test_domain_errors_show_next_to_the_field_that_was_sent(app, start_time):
    client = _signed_in(app)
    session = "/ui/sessions/ord-1-1"
    assert _post(client, f"{session}/check-in", {"at": _minute(start_time)}).status_code == 303
    missing = _post(client, f"{session}/pre-check", {"reading.systolic_mmhg": "120", "reading.diastolic_mmhg": "130",
                                                     "reading.heart_rate_per_min": "70",
                                                     "reading.spo2_percent": "98"})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 400
    for name in ("fasting_confirmed", "ride_home_confirmed"):  # every unanswered question is named
        assert f'href="#confirmations-{name}"' in html
    answered = {f"confirmations.{name}": "yes" for name in (
        "fasting_confirmed", "ride_home_confirmed", "no_new_contraindication_since_intake",
        "no_new_interacting_drug_since_intake")}
    answered["confirmations.pregnancy_check"] = "negative"
    bad = _post(client, f"{session}/pre-check", {**answered, "reading.systolic_mmhg": "120",
                                                 "reading.diastolic_mmhg": "130",
                                                 "reading.heart_rate_per_min": "70", "reading.spo2_percent": "98"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert re.search(r'id="reading-diastolic_mmhg-error"><strong>Error:</strong> must be below systolic', html)
    assert re.search(r'id="reading-diastolic_mmhg"[^>]*aria-invalid="true"', html)
    assert 'value="130"' in html  # what was typed is kept


def test_a_session_charted_through_the_pages_to_a_signed_note(app, start_time):
    client = _signed_in(app)
    sid = "ord-1-1"
    session = f"/ui/sessions/{sid}"
    t = lambda minutes: _minute(start_time + timedelta(minutes=minutes))  # noqa: E731

    assert _post(client, f"{session}/check-in", {"at": t(0)}).status_code == 303
    confirmations = {f"confirmations.{name}": "yes" for name in (
        "fasting_confirmed", "ride_home_confirmed", "no_new_contraindication_since_intake",
        "no_new_interacting_drug_since_intake")} | {"confirmations.pregnancy_check": "negative"}
    high = _post(client, f"{session}/pre-check", {**confirmations, "at": t(5), "reading.systolic_mmhg": "150",
                                                 "reading.diastolic_mmhg": "95", "reading.heart_rate_per_min": "76",
                                                 "reading.spo2_percent": "98"})
    assert high.status_code == 303
    page = client.get(session, headers=HTML).get_data(as_text=True)
    assert 'data-outcome="recheck-required"' in page and "Recheck required" in page
    refused = _post(client, f"{session}/start", {"at": t(6)})
    assert refused.status_code == 409 and "recheck at rest" in refused.get_data(as_text=True)
    assert _post(client, f"{session}/override", {"at": t(7), "reason": "reviewed with Dr Okoye"}).status_code == 303
    assert _post(client, f"{session}/start", {"at": t(10)}).status_code == 303
    assert _session_status(client, sid) == "Infusing"

    alert = _post(client, f"{session}/vitals", {"at": t(25), "systolic_mmhg": "184", "diastolic_mmhg": "100",
                                                "heart_rate_per_min": "90", "spo2_percent": "97",
                                                "reading_id": "r-25"})
    assert alert.status_code == 303 and "notice=vitals-alert" in alert.headers["Location"]
    page = client.get(session, headers=HTML).get_data(as_text=True)
    assert 'class="alert-row"' in page and "ALERT, open:" in page and "systolic 184 mmHg" in page
    assert "MISSED" in page  # the 40-min reading time (and later ones) passed with no reading
    acted = _post(client, f"{session}/alerts/r-25-alert/action", {"at": t(26), "kind": "rate-reduced",
                                                                  "detail": ""}, page=session)
    assert acted.status_code == 303
    cadss = client.get(f"{session}/cadss?form=cadss-23", headers=HTML).get_data(as_text=True)
    assert cadss.count('name="item_scores[') == 23
    scores = {f"item_scores[{i}]": str(i % 3) for i in range(6)}
    assert _post(client, f"{session}/cadss", {"form": "cadss-6", "timepoint": "minute:40", "at": t(45), **scores},
                 page=f"{session}/cadss").status_code == 303
    assert _post(client, f"{session}/adverse-events", {"at": t(30), "kind": "nausea", "severity": "mild",
                                                       "outcome": "resolved", "action_taken": "ondansetron 4 mg"},
                 page=f"{session}/adverse-events").status_code == 303
    assert _post(client, f"{session}/events", {"at": t(31), "text": "patient asked for the lights dimmed"},
                 page=session).status_code == 303
    assert _post(client, f"{session}/end", {"at": t(50)}).status_code == 303
    for minute, systolic in ((65, 140), (80, 132)):
        assert _post(client, f"{session}/vitals", {"at": t(minute), "systolic_mmhg": str(systolic),
                                                   "diastolic_mmhg": "84", "heart_rate_per_min": "80",
                                                   "spo2_percent": "98"}, page=session).status_code == 303

    early = _post(client, f"{session}/discharge", {"at": t(60), "mental_status_at_baseline": "yes",
                                                   "escort_present": "yes"}, page=f"{session}/discharge")
    html = early.get_data(as_text=True)
    assert early.status_code == 409 and 'data-testid="discharge-refused"' in html
    assert "administration record missing" in html and "observation: observed 10 min" in html
    administration = client.get(f"{session}/administration", headers=HTML).get_data(as_text=True)
    assert f'value="{t(10)}"' in administration and 'value="75"' in administration  # prefilled from the session
    saved = _post(client, f"{session}/administration", {
        "started_at": t(10), "stopped_at": t(50), "rate_changes[0].rate_ml_per_h": "75", "lot_number": "KET-2291",
        "lot_expiry": (start_time + timedelta(days=300)).date().isoformat()}, page=f"{session}/administration")
    assert saved.status_code == 303
    assert "40.0 mg in 50.0 mL" in client.get(f"{session}/administration", headers=HTML).get_data(as_text=True)
    aldrete = {f"aldrete.{item}": "2" for item in ("activity", "respiration", "circulation", "consciousness",
                                                   "oxygen_saturation")}
    done = _post(client, f"{session}/discharge", {"at": t(85), "mental_status_at_baseline": "yes",
                                                  "escort_present": "yes", **aldrete}, page=f"{session}/discharge")
    assert done.status_code == 303
    page = client.get(session, headers=HTML).get_data(as_text=True)
    assert _session_status(client, sid) == "Discharged" and page.count("tag-met") >= 5

    preview = client.get(f"{session}/note", headers=HTML).get_data(as_text=True)
    assert "KETAMINE INFUSION PROCEDURE NOTE" in preview and "Create the draft note" in preview
    assert _post(client, f"{session}/note", {"at": t(90)}, page=f"{session}/note").status_code == 303
    draft = client.get(f"{session}/note", headers=HTML).get_data(as_text=True)
    text = re.search(r'<textarea id="text"[^>]*>(.*?)</textarea>', draft, re.S).group(1)
    signed = _post(client, f"/ui/notes/{sid}-note-v1", {"text": text + "\nTolerated well.", "action": "sign"},
                   page=f"{session}/note")
    assert signed.status_code == 303
    final = client.get(f"{session}/note", headers=HTML).get_data(as_text=True)
    assert 'data-testid="note-signed"' in final and "Tolerated well." in final and "Signed by Grace Ng, RN" in final
    assert '<textarea id="text"' not in final.split("Amend this note")[0]  # read-only; amending is separate
    amended = _post(client, f"/ui/notes/{sid}-note-v1/amend", {"text": "Amended text."}, page=f"{session}/note")
    assert amended.status_code == 303
    assert "amends version 1" in client.get(f"{session}/note", headers=HTML).get_data(as_text=True)


def test_the_api_refuses_a_patient_scoped_token_for_another_patients_session(app):
    client = _signed_in(app, scope="launch openid fhirUser patient/*.cruds")
    assert client.get(f"/patients/{PATIENT}/sessions").status_code == 200
    assert client.get(f"/patients/{OTHER_PATIENT}/sessions").status_code == 403
    refused = client.get("/sessions/ord-2-1")
    assert refused.status_code == 403 and "another patient" in refused.json["issue"][0]["diagnostics"]
    assert client.get("/sessions/ord-1-1").status_code == 200

