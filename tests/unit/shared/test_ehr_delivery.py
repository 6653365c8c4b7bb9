"""The EHR status of a service's messages (shared/ehr_delivery) on a real SQLite store with real FHIR messages: how
each response maps to a status, that a final answer stands, a record's worst status, the outstanding list and
what a caller who may not see a patient's record is shown of it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from shared import ehr_delivery
from shared.config import SettingsError, load_settings
from shared.db import create_database, ehr_deliveries, outbox, utcnow
from shared.ehr_delivery import EhrStatus, EhrStatusSettings, record_status
from shared.ehr_delivery.views import outstanding_json, record_status_json, what_to_do
from shared.events.outbox import enqueue
from shared.fhir.messaging import ResponseCode, build_message, build_response, parse_message

SOURCE = "urn:ketalink:documentation"


@pytest.fixture
def engine(tmp_path):
    return create_database(f"sqlite:///{tmp_path / 'service.db'}")


def _sent(engine, record_kind: str = "note", record_id: str = "n1", patient_id: str = "p1"):
    """A message enqueued in the outbox and tracked, as a service does in one transaction; the parsed message."""
    bundle = build_message("note-signed", SOURCE, [{"resourceType": "Basic", "id": "b1", "code": {"text": "x"}}])
    with engine.begin() as conn:
        message_id = enqueue(conn, "ketalink.documentation.events", patient_id, bundle)
        ehr_delivery.track(conn, message_id, "note-signed", record_kind, record_id, patient_id)
    return parse_message(bundle)


def _answer(engine, request, code: ResponseCode, *issues: dict):
    outcome = {"resourceType": "OperationOutcome", "issue": list(issues)} if issues else None
    response = parse_message(build_response(request, code, "urn:ehr", outcome))
    with engine.begin() as conn:
        return ehr_delivery.record_response(conn, response)


def _status(engine, record_kind: str = "note", record_id: str = "n1"):
    with engine.connect() as conn:
        return ehr_delivery.statuses_of(conn, record_kind, [record_id])[record_id]


def test_a_tracked_message_is_sent_until_answered_and_relayed_once_the_broker_has_it(engine):
    request = _sent(engine)
    status = _status(engine)
    assert status.status is EhrStatus.SENT and status.deliveries[0].relayed is False
    with engine.begin() as conn:
        conn.execute(update(outbox).values(sent_at=utcnow()))
    assert _status(engine).deliveries[0].relayed is True
    assert _status(engine, record_id="other").status is None  # nothing sent for it
    assert request.message_id == status.deliveries[0].message_id


def test_ok_is_applied_fatal_error_refused_with_the_reasons_transient_error_retrying(engine):
    applied, refused, retrying = (_sent(engine, record_id=f"n{i}") for i in range(3))
    assert _answer(engine, applied, ResponseCode.OK).status is EhrStatus.APPLIED
    delivery = _answer(engine, refused, ResponseCode.FATAL_ERROR,
                       {"severity": "error", "code": "processing", "details": {"text": "Patient merged"},
                        "diagnostics": "ignored when details.text says it"},
                       {"severity": "error", "code": "processing", "diagnostics": "DocumentReference.date missing"},
                       {"severity": "error", "code": "required"})
    assert delivery.status is EhrStatus.REFUSED
    assert delivery.reasons == ("Patient merged", "DocumentReference.date missing", "required")
    assert _answer(engine, retrying, ResponseCode.TRANSIENT_ERROR,
                   {"severity": "error", "code": "transient", "diagnostics": "busy"}).status is EhrStatus.RETRYING
    assert [_status(engine, record_id=f"n{i}").status for i in range(3)] == [
        EhrStatus.APPLIED, EhrStatus.REFUSED, EhrStatus.RETRYING]
    assert _status(engine, record_id="n1").deliveries[0].reasons == delivery.reasons  # kept in the store


def test_a_final_answer_stands_and_a_retry_can_end_either_way(engine):
    request = _sent(engine)
    _answer(engine, request, ResponseCode.TRANSIENT_ERROR)
    assert _answer(engine, request, ResponseCode.OK).status is EhrStatus.APPLIED
    late = _answer(engine, request, ResponseCode.TRANSIENT_ERROR)  # a late or redelivered answer
    assert late.status is EhrStatus.APPLIED and _status(engine).status is EhrStatus.APPLIED
    other = _sent(engine, record_id="n2")
    _answer(engine, other, ResponseCode.TRANSIENT_ERROR)
    assert _answer(engine, other, ResponseCode.FATAL_ERROR, {"severity": "error", "code": "x",
                                                             "diagnostics": "no"}).reasons == ("no",)


def test_an_answer_to_another_services_message_is_not_ours(engine):
    foreign = parse_message(build_message("order-signed", "urn:ketalink:orders",
                                          [{"resourceType": "Basic", "id": "b", "code": {"text": "x"}}]))
    assert _answer(engine, foreign, ResponseCode.FATAL_ERROR) is None
    with engine.connect() as conn:
        assert conn.execute(ehr_deliveries.select()).all() == []


def test_a_record_is_as_bad_as_its_worst_message(engine):
    first, second, third = (_sent(engine, record_kind="session", record_id="s1") for _ in range(3))
    _answer(engine, first, ResponseCode.OK)
    assert _status(engine, "session", "s1").status is EhrStatus.SENT
    _answer(engine, second, ResponseCode.TRANSIENT_ERROR)
    assert _status(engine, "session", "s1").status is EhrStatus.RETRYING
    _answer(engine, third, ResponseCode.FATAL_ERROR, {"severity": "error", "code": "x", "diagnostics": "closed"})
    status = _status(engine, "session", "s1")
    assert status.status is EhrStatus.REFUSED and [d.message_id for d in status.refused] == [third.message_id]
    view = record_status_json(status)
    assert view["reasons"] == ["closed"] and view["refused_messages"] == [third.message_id]
    assert view["kind"] == "Infusion session" and "not in the chart" in view["what_to_do"]
    assert record_status("session", "s2", []).label == "Nothing sent to the EHR yet"


def test_outstanding_lists_refused_retrying_and_overdue_unanswered_messages_oldest_first(engine):
    settings = EhrStatusSettings(answer_wait_s=60)
    requests = {name: _sent(engine, record_id=name) for name in ("applied", "refused", "retrying", "waiting")}
    _answer(engine, requests["applied"], ResponseCode.OK)
    _answer(engine, requests["refused"], ResponseCode.FATAL_ERROR)
    _answer(engine, requests["retrying"], ResponseCode.TRANSIENT_ERROR)
    with engine.connect() as conn:
        now = [d.record_id for d in ehr_delivery.outstanding(conn, settings)]
        later = [d.record_id for d in ehr_delivery.outstanding(conn, settings, utcnow() + timedelta(seconds=61))]
    assert now == ["refused", "retrying"]
    assert later == ["refused", "retrying", "waiting"]


def test_a_row_the_caller_may_not_see_in_full_keeps_ids_and_status_only(engine):
    mine, theirs = _sent(engine, record_id="mine", patient_id="p1"), _sent(engine, record_id="theirs",
                                                                         patient_id="p2")
    for request in (mine, theirs):
        _answer(engine, request, ResponseCode.FATAL_ERROR, {"severity": "error", "code": "x",
                                                            "diagnostics": "PHQ-9 item 9 scored 3"})
    with engine.connect() as conn:
        deliveries = ehr_delivery.outstanding(conn, EhrStatusSettings())
    view = outstanding_json(deliveries, lambda d: d.patient_id == "p1", lambda d: f"/ui/notes/{d.record_id}",
                            utcnow(), 300)
    rows = {row["record_id"]: row for row in view["records"]}
    assert view["count"] == 2 and view["answer_wait_s"] == 300
    assert rows["mine"]["reasons"] == ["PHQ-9 item 9 scored 3"] and rows["mine"]["patient_id"] == "p1"
    assert rows["theirs"]["reasons"] is None and rows["theirs"]["patient_id"] is None
    assert rows["theirs"]["detail_withheld"] is True and rows["theirs"]["status"] == "refused"
    assert rows["theirs"]["link"] == "/ui/notes/theirs" and rows["theirs"]["kind"] == "Signed note"


def test_what_to_do_is_said_for_every_status_but_applied():
    assert "amend the note" in what_to_do("note", EhrStatus.REFUSED)
    assert "Do not give an infusion" in what_to_do("order", EhrStatus.REFUSED)
    assert "quoting the message id" in what_to_do("course", EhrStatus.REFUSED)
    assert "trying again" in what_to_do("note", EhrStatus.RETRYING)
    assert "not answered" in what_to_do("order", EhrStatus.SENT)
    assert what_to_do("note", EhrStatus.APPLIED) is None and what_to_do("note", None) is None


@pytest.mark.parametrize("environ, message", [
    ({"KETALINK_EHR_ANSWER_WAIT_S": "5"}, "between 10 and 86400"),
    ({"KETALINK_EHR_ANSWER_WAIT_S": "soon"}, "KETALINK_EHR_ANSWER_WAIT_S"),
    ({"KETALINK_EHR_STATUS_PEERS": "orders.clinic.example"}, r"not an http\(s\) URL"),
])
def test_settings_are_checked_at_start_up(environ, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(EhrStatusSettings, "KETALINK_EHR_", environ)
    settings = load_settings(EhrStatusSettings, "KETALINK_EHR_", {
        "KETALINK_EHR_ANSWER_WAIT_S": "120", "KETALINK_EHR_STATUS_PEERS": "https://a.example, https://b.example"})
    assert settings.answer_wait_s == 120 and settings.status_peers == ("https://a.example", "https://b.example")


def test_the_answers_fit_the_schemas_the_openapi_documents_declare(engine):
    import jsonschema_rs

    from shared.ehr_delivery.views import EHR_STATUS_SCHEMA, NOT_IN_EHR_SCHEMA

    requests_ = [_sent(engine, record_id=f"n{i}", patient_id=f"p{i % 2}") for i in range(4)]
    _answer(engine, requests_[1], ResponseCode.OK)
    _answer(engine, requests_[2], ResponseCode.FATAL_ERROR, {"severity": "error", "code": "x", "diagnostics": "no"})
    _answer(engine, requests_[3], ResponseCode.TRANSIENT_ERROR)
    status_validator = jsonschema_rs.validator_for(EHR_STATUS_SCHEMA)
    for record_id in ("n0", "n1", "n2", "n3", "never-sent"):
        status_validator.validate(record_status_json(_status(engine, record_id=record_id)))
    with engine.connect() as conn:
        deliveries = ehr_delivery.outstanding(conn, EhrStatusSettings(), utcnow() + timedelta(hours=1))
    listed = outstanding_json(deliveries, lambda d: d.patient_id == "p0", lambda d: None, utcnow(), 300)
    assert {row["detail_withheld"] for row in listed["records"]} == {True, False}
    jsonschema_rs.validator_for(NOT_IN_EHR_SCHEMA).validate(listed)
    with pytest.raises(jsonschema_rs.ValidationError):  # the schema says something: a wrong status is refused
        status_validator.validate({**record_status_json(_status(engine)), "status": "pending"})
