"""The metrics ops read: the outbox backlog read at scrape time, the EHR's answers to this service's own messages by
event and code, and the EHR request latency by method, resource type and status class. No label carries an id."""
from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from deploy.local.ports import free_port
from shared.db import create_database
from shared.events.outbox import enqueue
from shared.events.worker_metrics import WorkerCollector, counting_answers
from shared.fhir.client import FhirClient, FhirNotFound, FhirUnavailable
from shared.fhir.messaging import ResponseCode, build_message, build_response, parse_message
from shared.metrics import REGISTRY, exposition
from tests.unit.shared.recording_server import recording_server

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_backlog_is_read_from_the_outbox_when_prometheus_scrapes(tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    collector = WorkerCollector()
    collector.watch("intake", engine)
    registry = CollectorRegistry()
    registry.register(collector)
    assert registry.get_sample_value("ketalink_outbox_backlog", {"outbox": "intake"}) == 0.0
    with engine.begin() as conn:
        for n in range(150):  # more than one relay batch
            enqueue(conn, "topic", "p", build_message("e", "urn:t", [OBSERVATION], message_id=f"m{n}"))
    assert registry.get_sample_value("ketalink_outbox_backlog", {"outbox": "intake"}) == 150.0
    assert registry.get_sample_value("ketalink_outbox_oldest_unsent_age_seconds", {"outbox": "intake"}) >= 0.0


def test_a_database_that_does_not_answer_leaves_the_backlog_out_and_the_scrape_whole(tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    collector = WorkerCollector()
    collector.watch("orders", engine)
    (tmp_path / "o.db").unlink()
    engine.dispose()
    (tmp_path / "o.db").mkdir()  # a path SQLite cannot open
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'ketalink_outbox_backlog{outbox="orders"}' not in text and "ketalink_worker_ready" in text


def test_answers_to_our_own_messages_are_counted_by_event_and_code(tmp_path: Path):
    engine = create_database(f"sqlite:///{tmp_path / 'o.db'}")
    sent = build_message("test-answer-count", "urn:t", [OBSERVATION], message_id="ours")
    with engine.begin() as conn:
        enqueue(conn, "topic", "p", sent)
    handled: list[str] = []
    handlers = counting_answers({"*": lambda message, conn: handled.append(message.response_to)})
    labels = {"event": "test-answer-count", "code": "fatal-error"}  # no other test answers this event
    before = sample("ketalink_ehr_responses_total", labels)
    ours = parse_message(build_response(parse_message(sent), ResponseCode.FATAL_ERROR, "urn:ehr"))
    theirs = parse_message(build_message("test-answer-count", "urn:t", [OBSERVATION], message_id="theirs"))
    others = parse_message(build_response(theirs, ResponseCode.FATAL_ERROR, "urn:ehr"))
    with engine.begin() as conn:
        handlers["*"](ours, conn)
        handlers["*"](others, conn)  # ehr.responses is shared: another service's answer is not ours to count
    assert handled == ["ours", "theirs"]
    assert sample("ketalink_ehr_responses_total", labels) == before + 1


def test_ehr_requests_are_timed_by_method_resource_type_and_status_class_never_by_id():
    """Resource types no other test's background thread asks for: the registry is the process's."""
    def answers(method: str, path: str) -> tuple[int, dict]:
        if path.startswith("/fhir/Basic/secret-id-123"):
            return 200, {"resourceType": "Basic", "id": "secret-id-123"}
        if method == "POST":
            return 201, {"resourceType": "Substance", "id": "new-id-456"}
        return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}

    expected = [("GET", "Basic", "2xx"), ("POST", "Substance", "2xx"), ("GET", "Linkage", "4xx"),
                ("GET", "Flag", "none")]
    names = ("method", "resource_type", "status_class")
    counts = {key: sample("ketalink_ehr_request_seconds_count", dict(zip(names, key))) for key in expected}
    with recording_server(answers) as ehr:
        client = FhirClient(ehr.base_url, retries=0)
        client.read("Basic", "secret-id-123")
        client.create_if_none_exist({"resourceType": "Substance"}, "identifier=secret-value-789")
        with pytest.raises(FhirNotFound):
            client.read("Linkage", "nope")
    with pytest.raises(FhirUnavailable):
        FhirClient(f"http://127.0.0.1:{free_port()}/fhir", retries=0, timeout_s=2).read("Flag", "x")
    for key, before in counts.items():
        assert sample("ketalink_ehr_request_seconds_count", dict(zip(names, key))) == before + 1, key
    exposed = generate_latest(REGISTRY).decode()
    assert not any(secret in exposed for secret in ("secret-id-123", "new-id-456", "secret-value-789"))


def test_one_process_serves_its_own_registry_without_the_multiprocess_directory(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    body, content_type = exposition()
    assert content_type.startswith("text/plain") and b"ketalink_outbox_sent_total" in body


def test_the_dead_letter_check_interval_is_a_validated_setting():
    from shared.config import SettingsError, load_settings
    from shared.events.dead_letter_watch import DeadLetterWatchSettings

    assert load_settings(DeadLetterWatchSettings, "KETALINK_WORKER_", {}).dead_letter_check_s == 300.0
    assert load_settings(DeadLetterWatchSettings, "KETALINK_WORKER_",
                         {"KETALINK_WORKER_DEAD_LETTER_CHECK_S": "0"}).dead_letter_check_s == 0.0  # off
    with pytest.raises(SettingsError, match="dead_letter_check_s"):
        load_settings(DeadLetterWatchSettings, "KETALINK_WORKER_", {"KETALINK_WORKER_DEAD_LETTER_CHECK_S": "5"})
