"""Patient-reported outcomes: the schedule (due/overdue from the last score of any source), the settings' start-up
checks, exact scoring of the scales a patient answers, the link's token (256 bits, only its hash stored) and its
lifecycle through the real service layer on SQLite: one score per link, a retried submission records nothing,
expired and used links refused, a positive PHQ-9 item 9 raising the suicidality alert in the same call."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.orders.course.domain.errors import CourseInputError, CourseStateError
from services.orders.course.domain.measurements import ScoreSource
from services.orders.course.domain.model import CourseStatus
from services.orders.course.domain.patient_links import (
    LinkState, RequestLimiter, measurement_id_of, new_link, plausible_token, token_hash,
)
from services.orders.course.domain.patient_reports import DueState, PatientReportSettings, questionnaires_due
from services.orders.course.domain.settings import CourseSettings
from services.orders.course.handlers import CourseService, CourseServiceSettings
from services.orders.course.handlers.patient_reports import LinkRefused
from services.orders.course.repository import CourseRepository
from services.orders.domain.settings import ProtocolSettings
from shared.config import SettingsError, load_settings
from shared.db import outbox, patient_links
from shared.events.kafka_clients import KafkaSettings
from shared.people import Person
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.scales import Scale, total_score
from tests.unit.orders.course.builders import COURSE, START, new_course, phq9

DOCTOR = Person("Practitioner/dr-okoye", "Dr. Adaeze Okoye")
NOW = START + timedelta(days=10)


# --- schedule ---------------------------------------------------------------------------------------------------
def test_phq9_is_due_from_the_course_start_and_then_an_interval_after_the_last_score_of_any_source():
    settings = PatientReportSettings(scales=("phq-9", "gad-7"))
    course = new_course()
    [phq, gad] = questionnaires_due(course, settings, course.started_at + timedelta(hours=1))
    assert (phq.scale, phq.state, phq.due_at) == (Scale.PHQ9, DueState.DUE, course.started_at)
    assert gad.state is DueState.DUE
    clinic_score = phq9("m-1", 12, START, source=ScoreSource.CLINICIAN)
    course = replace(course, scores=(clinic_score,))
    [phq, _] = questionnaires_due(course, settings, START + timedelta(days=6))
    assert (phq.last_measured_at, phq.due_at, phq.state) == (START, START + timedelta(days=7), DueState.NOT_DUE)
    [phq, _] = questionnaires_due(course, settings, START + timedelta(days=8))
    assert phq.state is DueState.DUE
    [phq, _] = questionnaires_due(course, settings, START + timedelta(days=10))
    assert phq.state is DueState.OVERDUE  # 7 days + 3 days overdue
    assert questionnaires_due(replace(course, status=CourseStatus.STOPPED), settings, NOW) == ()


@pytest.mark.parametrize("variable, value, words", [
    ("SCALES", "gad-7", "must include phq-9"),
    ("SCALES", "phq-9,madrs", "cannot answer"),
    ("PHQ9_INTERVAL_DAYS", "0", "phq9_interval_days"),
    ("LINK_VALID_HOURS", "720", "link_valid_hours"),
    ("CRISIS_CONTACTS", ";;", "crisis_contacts"),
    ("PATIENT_BASE_URL", "ftp://clinic", "patient_base_url"),
])
def test_bad_patient_report_settings_stop_the_start_naming_the_setting(variable, value, words):
    with pytest.raises(SettingsError, match=words):
        load_settings(PatientReportSettings, "ORDERS_COURSE_PRO_", {f"ORDERS_COURSE_PRO_{variable}": value})


def test_the_defaults_are_valid_and_name_988():
    settings = load_settings(PatientReportSettings, "ORDERS_COURSE_PRO_", {})
    assert settings.scheduled_scales == (Scale.PHQ9,)
    assert any("988" in line for line in settings.crisis_contact_lines)
    assert settings.link_validity == timedelta(hours=72)


# --- scoring of the scales a patient answers -----------------------------------------------------------------------
def test_gad7_is_the_sum_of_its_seven_items_and_qids_sr16_counts_each_domain_once():
    assert total_score(Scale.GAD7, [3, 2, 1, 0, 3, 2, 1]) == 12
    # sleep max(1,3,0,2)=3, mood 1, appetite/weight max(0,2,1,0)=2, 10-14: 1+0+2+1+3, psychomotor max(0,2)=2
    qids = [1, 3, 0, 2, 1, 0, 2, 1, 0, 1, 0, 2, 1, 3, 0, 2]
    assert total_score(Scale.QIDS_SR16, qids) == 3 + 1 + 2 + 1 + 0 + 2 + 1 + 3 + 2


# --- token ------------------------------------------------------------------------------------------------------
def test_a_link_token_is_256_random_bits_and_only_its_hash_is_kept():
    link, token = new_link(COURSE, "patient-1", Scale.PHQ9, DOCTOR.reference, NOW, 72)
    other, other_token = new_link(COURSE, "patient-1", Scale.PHQ9, DOCTOR.reference, NOW, 72)
    assert len(token) == 43 and plausible_token(token) and token != other_token
    assert link.token_hash == token_hash(token) != token and len(link.token_hash) == 64
    assert "patient-1" not in token and COURSE not in token
    assert link.expires_at == NOW + timedelta(hours=72)
    assert link.state(NOW) is LinkState.OPEN
    assert link.state(link.expires_at) is LinkState.EXPIRED
    assert replace(link, used_at=NOW).state(NOW) is LinkState.USED
    assert link.measurement_id == measurement_id_of(link.link_id) != other.measurement_id
    assert not plausible_token("short") and not plausible_token("x" * 43 + "/")


def test_the_request_limiter_refuses_beyond_its_rate_per_client_and_forgets_after_a_minute():
    clock = [0.0]
    limiter = RequestLimiter(3, clock=lambda: clock[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")
    clock[0] = 60.0
    assert limiter.allow("a")


# --- the service layer on SQLite -----------------------------------------------------------------------------------
@pytest.fixture
def service(tmp_path) -> CourseService:
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    with runtime.transaction() as conn:
        CourseRepository().add(conn, new_course())
    return CourseService(runtime, CourseSettings(), ProtocolSettings(), CourseServiceSettings(alert_send_wait_s=0),
                         clock=lambda: NOW, pro_settings=PatientReportSettings(scales=("phq-9", "gad-7",
                                                                                         "qids-sr16")))


def _outbox(service: CourseService) -> list[tuple[str, dict]]:
    with service._runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.event_code, outbox.c.payload).order_by(outbox.c.id)).all()
    return [(row.event_code, json.loads(row.payload)) for row in rows]


def test_a_filled_link_is_one_patient_score_and_a_positive_item_9_raises_the_alert_in_the_same_call(service):
    link, token = service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)
    with service._runtime.engine.connect() as conn:
        [row] = conn.execute(select(patient_links)).all()
    assert row.token_hash == token_hash(token) and token not in json.dumps([str(v) for v in row])
    assert row.created_by == "Practitioner/dr-okoye"
    assert service.open_link(token).scale is Scale.PHQ9

    submission = service.submit_patient_link(token, (1, 1, 2, 1, 0, 1, 1, 0, 1))
    assert submission.suicide_item_positive
    [alert] = submission.alerts_raised
    [score] = submission.change.course.scores
    assert (score.measurement_id, score.source, score.total_score, score.recorded_by) == \
           (link.measurement_id, ScoreSource.PATIENT_LINK, 8, None)
    codes = [code for code, _ in _outbox(service)]
    assert codes.count("suicidality-alert") == 1 and codes.count("score-recorded") == 1
    recorded = dict(_outbox(service))["score-recorded"]
    observation = next(e["resource"] for e in recorded["entry"] if e["resource"]["resourceType"] == "Observation")
    assert observation["performer"][0]["reference"] == "Patient/patient-1"

    with pytest.raises(LinkRefused) as refused:  # the retried submission: nothing more recorded
        service.submit_patient_link(token, (1, 1, 2, 1, 0, 1, 1, 0, 1))
    assert refused.value.state is LinkState.USED
    with pytest.raises(LinkRefused):
        service.submit_patient_link(token, (0,) * 9)  # nor a different answer through the same link
    assert len(service.course(COURSE).course.scores) == 1
    assert [code for code, _ in _outbox(service)] == codes


def test_a_missing_answer_records_nothing_and_leaves_the_link_open(service):
    _, token = service.create_patient_link(COURSE, Scale.GAD7, DOCTOR)
    with pytest.raises(CourseInputError) as refused:
        service.submit_patient_link(token, (1, 1, None, 1, 0, 1, 1))
    assert refused.value.violations[0].field == "score.items[2]"
    assert service.course(COURSE).course.scores == () and _outbox(service) == []
    submission = service.submit_patient_link(token, (1, 1, 0, 1, 0, 1, 1))
    assert submission.change.course.scores[0].total_score == 5 and not submission.suicide_item_positive


def test_expired_unknown_and_unsendable_links_are_refused(service):
    _, token = service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)
    with service._runtime.transaction() as conn:
        conn.execute(update(patient_links).values(expires_at=NOW - timedelta(seconds=1)))
    for attempt in (lambda: service.open_link(token), lambda: service.submit_patient_link(token, (0,) * 9)):
        with pytest.raises(LinkRefused) as refused:
            attempt()
        assert refused.value.state is LinkState.EXPIRED
    with pytest.raises(LinkRefused) as unknown:
        service.open_link(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert unknown.value.state is LinkState.UNKNOWN
    with pytest.raises(CourseInputError, match="cannot be sent as a link"):
        service.create_patient_link(COURSE, Scale.QIDS_SR16, DOCTOR)
    with pytest.raises(CourseInputError, match="schedules"):
        service.create_patient_link(COURSE, Scale.MADRS, DOCTOR)


def test_no_link_for_a_stopped_course(service):
    with service._runtime.transaction() as conn:
        loaded = CourseRepository().get(conn, COURSE)
        CourseRepository().save(conn, loaded, replace(loaded.course, status=CourseStatus.STOPPED))
    with pytest.raises(CourseStateError):
        service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)


def test_the_clinic_due_list_names_each_running_course_due_or_overdue_and_a_waiting_link(service):
    rows = service.clinic_questionnaires_due()  # started 13 days ago, never scored: all three overdue
    assert [(r.course_id, r.due.scale, r.due.state, r.open_link_expires_at) for r in rows] == [
        (COURSE, scale, DueState.OVERDUE, None) for scale in (Scale.PHQ9, Scale.GAD7, Scale.QIDS_SR16)]
    link, token = service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)
    assert service.clinic_questionnaires_due()[0].open_link_expires_at == link.expires_at
    service.submit_patient_link(token, (0,) * 9)  # PHQ-9 answered now: not due for 7 days
    assert [r.due.scale for r in service.clinic_questionnaires_due()] == [Scale.GAD7, Scale.QIDS_SR16]


def test_two_submissions_of_one_link_at_the_same_moment_record_one_score(service):
    from concurrent.futures import ThreadPoolExecutor

    _, token = service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)

    def submit(items: tuple[int, ...]) -> str:
        try:
            service.submit_patient_link(token, items)
            return "recorded"
        except LinkRefused as refused:
            return refused.state.value

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(submit, [(1,) * 9, (2,) * 9]))
    assert outcomes == ["recorded", "used"]
    assert len(service.course(COURSE).course.scores) == 1
    assert [code for code, _ in _outbox(service)].count("score-recorded") == 1


def test_a_failure_on_the_patient_page_is_a_plain_page_and_its_log_line_holds_no_token(service, caplog,
                                                                                        monkeypatch):
    from flask import Flask

    from services.orders.course.access import COURSE_SERVICE
    from services.orders.course.ui import patient_blueprint
    from services.orders.ui import blueprint as orders_pages
    from shared.ui import install_ui
    from shared.web import install_service

    app = Flask("orders-test")
    install_service(app, COURSE_SERVICE, service)
    install_ui(app, "Orders")
    app.register_blueprint(orders_pages)
    app.register_blueprint(patient_blueprint)
    _, token = service.create_patient_link(COURSE, Scale.PHQ9, DOCTOR)

    def broken(_token: str) -> None:
        raise RuntimeError(f"store unreachable for {_token}")

    monkeypatch.setattr(service, "open_link", broken)
    with caplog.at_level("ERROR"):
        answer = app.test_client().get(f"/q/{token}")
    assert answer.status_code == 500 and b"Your answers were not saved" in answer.data
    assert b"988" in answer.data  # the crisis contacts stay on the page
    [record] = [r for r in caplog.records if r.getMessage() == "patient page failed"]
    assert record.endpoint == "patient_ui.questionnaire" and record.traceback
    assert all(token not in str(vars(r)) for r in caplog.records)  # message, extras and traceback frames


def test_the_rate_limit_counts_the_address_the_ingress_appended_when_the_clinic_names_its_header():
    from flask import Flask

    from services.orders.course.ui.patient_page import client_address

    app = Flask("addresses")
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}  # the first entry is the client's to forge
    with app.test_request_context("/q/x", headers=forwarded, environ_base={"REMOTE_ADDR": "10.0.0.2"}):
        assert client_address("X-Forwarded-For") == "203.0.113.7"
        assert client_address("") == "10.0.0.2"
    with app.test_request_context("/q/x", environ_base={"REMOTE_ADDR": "10.0.0.2"}):
        assert client_address("X-Forwarded-For") == "10.0.0.2"
    with pytest.raises(SettingsError, match="client_address_header"):
        load_settings(PatientReportSettings, "ORDERS_COURSE_PRO_",
                      {"ORDERS_COURSE_PRO_CLIENT_ADDRESS_HEADER": "X-Forwarded-For: evil"})


def test_the_orders_service_does_not_start_with_a_bad_patient_report_setting(service, monkeypatch):
    from services.orders.course.bootstrap import build_course_service

    monkeypatch.setenv("ORDERS_COURSE_PRO_SCALES", "phq-9,madrs")
    with pytest.raises(SystemExit, match="ORDERS_COURSE_PRO_.*cannot answer"):
        build_course_service(service._runtime, ProtocolSettings())
    monkeypatch.setenv("ORDERS_COURSE_PRO_SCALES", "phq-9,gad-7")
    built = build_course_service(service._runtime, ProtocolSettings())
    assert built.pro_settings.scheduled_scales == (Scale.PHQ9, Scale.GAD7)
