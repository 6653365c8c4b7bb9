"""``Idempotency-Key`` on a real service runtime (SQLite store, the shared Api wrapper and
``ServiceRuntime.transaction``): the key commits with the request's changes, so neither a retry after a crash
between the commit and the stored answer nor two concurrent requests with one key make the change twice."""
from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from shared import idempotency
from shared.api import Api, RequestModel
from shared.db import RecordStore, records
from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.web import ApiError, install


class CreateDraft(RequestModel):
    patient_id: str
    pause_s: float = 0.0
    fail_after_commit: bool = False


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    runtime = ServiceRuntime("idem", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'idem.db'}"),
                             KafkaSettings())
    api = Api("test", "1", "test", engine=runtime.engine)
    store = RecordStore()

    @api.operation("/drafts", "POST", summary="create a draft", body=CreateDraft, success_status=201,
                   idempotent=True)
    def create_draft(body: CreateDraft):  # type: ignore[no-untyped-def]
        draft_id = uuid.uuid4().hex
        with runtime.transaction() as conn:
            store.insert(conn, "draft", draft_id, body.patient_id, {"patient_id": body.patient_id})
            time.sleep(body.pause_s)  # holds the transaction open, as a slow request would
        if body.fail_after_commit:
            raise ApiError(422, "refused after the change committed")
        return {"draft_id": draft_id}, 201

    app = Flask("idem")
    install(app, {})
    api.install(app)
    yield app, runtime


def _drafts(runtime: ServiceRuntime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(records).where(records.c.kind == "draft")).scalar_one()


def _post(app: Flask, body: dict, key: str):  # type: ignore[no-untyped-def]
    return app.test_client().post("/drafts", json=body, headers={"Idempotency-Key": key})


def test_a_retry_gets_the_first_answer_and_changes_nothing(service):
    app, runtime = service
    first = _post(app, {"patient_id": "p1"}, "k-1")
    again = _post(app, {"patient_id": "p1"}, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert _drafts(runtime) == 1


def test_a_retry_after_a_crash_between_the_commit_and_the_stored_answer_is_refused_not_applied_again(service,
                                                                                                     monkeypatch):
    """The crash is injected: storing the answer fails as if the process died right after the view's commit."""
    app, runtime = service

    def process_died(*_args: object) -> None:
        raise SystemExit("the service stopped before it stored the answer")

    monkeypatch.setattr(idempotency, "remember", process_died)
    with pytest.raises(SystemExit):
        _post(app, {"patient_id": "p1"}, "k-crash")
    monkeypatch.undo()
    assert _drafts(runtime) == 1

    retry = _post(app, {"patient_id": "p1"}, "k-crash")
    assert retry.status_code == 409, retry.get_data(as_text=True)
    outcome = retry.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and "was applied" in outcome["issue"][0]["diagnostics"]
    assert _drafts(runtime) == 1


def test_two_requests_with_one_key_at_once_make_one_change_and_the_other_is_told_to_retry(service):
    app, runtime = service
    answers: list[int] = []

    def send() -> None:
        answers.append(_post(app, {"patient_id": "p1", "pause_s": 0.3}, "k-concurrent").status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [201, 409]
    assert _drafts(runtime) == 1
    assert _post(app, {"patient_id": "p1", "pause_s": 0.3}, "k-concurrent").status_code == 201  # the first answer
    assert _drafts(runtime) == 1


def test_a_request_that_failed_leaves_its_key_free_for_a_retry(service):
    app, runtime = service
    failed = _post(app, {"patient_id": "p1", "fail_after_commit": True}, "k-fail")
    assert failed.status_code == 422
    retried = _post(app, {"patient_id": "p1"}, "k-fail-2")
    assert retried.status_code == 201
    again = _post(app, {"patient_id": "p1", "fail_after_commit": True}, "k-fail")
    assert again.status_code == 422  # ran again, as before keys were claimed in the transaction
    assert _drafts(runtime) == 3
