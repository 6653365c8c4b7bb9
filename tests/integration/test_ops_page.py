"""The operations page (``/ops``) of a service built for production (SMART required), in-process against the session's
real broker and EHR sandbox: only a user the EHR gives an ops role (KETALINK_OPS_ROLE_CODES, default HL7 ``ict``)
sees it, a nurse gets 403; it lists dead letters and held records by id and reason (never a payload); replay,
discard and release need a reason and the form guard, and each is audited with the signed-in person's fhirUser
reference."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from deploy.local.ports import free_port
from services.intake.bootstrap import build
from shared.db import held_records, ops_actions, utcnow
from shared.events.kafka_clients import KafkaSettings
from shared.events.topics import EHR_EVENTS, dead_letter_topic
from shared.fhir.messaging import build_message
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.ui import form_token
from tests.support.backend_auth import service_tokens
from tests.support.kafka_tools import publish, read_all, wait_for
from tests.support.practitioners import clinician, registered_nurse
from tests.support.smart_sessions import signed_in

pytestmark = pytest.mark.integration
HOST = "http://localhost"
SCOPES = "launch/patient openid fhirUser user/*.cruds"
ICT = (("http://terminology.hl7.org/CodeSystem/practitioner-role", "ict", "ICT professional"),)
HTML = {"Accept": "text/html", "Origin": HOST}


@dataclass
class OpsApp:
    app: Flask
    runtime: ServiceRuntime
    group: str
    ops_user: str  # Practitioner/<id>


def build_ops_app(bootstrap: str, ehr, tmp_path, monkeypatch) -> OpsApp:
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    monkeypatch.setenv("SMART_ALLOWED_ISSUERS", ehr.base_url)
    group = f"ketalink-intake-ops-page-{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'intake.db'}", ehr_fhir_base_url=ehr.base_url,
                               consumer_group=group)
    runtime = ServiceRuntime("intake", settings, KafkaSettings(bootstrap_servers=bootstrap, request_timeout_ms=3000),
                             ehr_tokens=service_tokens("intake", ehr.base_url))
    app, _handlers, _responses = build(runtime)
    ops = clinician(ehr.client, "ops-test", "Olive Ops", ICT)
    return OpsApp(app, runtime, group, "Practitioner/" + ops.fhir_user.rsplit("/", 1)[1])


@pytest.fixture
def ops_app(broker, ehr, tmp_path, monkeypatch) -> Iterator[OpsApp]:
    built = build_ops_app(broker.bootstrap, ehr, tmp_path, monkeypatch)
    yield built
    built.runtime.engine.dispose()


def dead_letter(broker, group: str, marker: str) -> str:
    """A record on ehr.events.dlq as intake's consumer writes one; its payload carries ``marker``. Returns its
    message id."""
    message = build_message("referral-requested", "urn:test", [{"resourceType": "Basic", "id": marker,
                                                                "code": {"text": f"private note {marker}"}}],
                            with_provenance=False)
    publish(broker.bootstrap, dead_letter_topic(EHR_EVENTS), message, key=f"patient-{marker}", headers=[
        ("dlq-reason", b"PermanentError: simulated"), ("dlq-consumer", group.encode()),
        ("dlq-source-topic", EHR_EVENTS.encode()), ("dlq-source-partition", b"0"), ("dlq-source-offset", b"7")])
    return message["entry"][0]["resource"]["id"]


def ref_of(page: str, message_id: str) -> str:
    row = re.search(r'data-ref="([^"]+)">(?:(?!</tr>).)*?' + re.escape(message_id), page, re.S)
    assert row, f"no dead letter with message id {message_id} on the page"
    return row.group(1)


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def audit_rows(ops: OpsApp) -> list[dict]:
    with ops.runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(ops_actions).order_by(ops_actions.c.id)).mappings()]


def test_only_ops_staff_see_the_page(ehr, ops_app):
    nurse = signed_in(ops_app.app, None, fhir_user=registered_nurse(ehr.client).fhir_user, scope=SCOPES,
                      cookie="nurse-ops")
    refused = nurse.get("/ops", headers=HTML)
    assert refused.status_code == 403 and "Operations role needed" in refused.get_data(as_text=True)
    assert nurse.post("/ops/dead-letters/discard", data={"ref": "ehr.events.dlq:0:0", "reason": "x"},
                      headers=HTML).status_code == 403
    assert ops_app.app.test_client().get("/ops", headers=HTML).status_code == 401
    assert ops_app.app.extensions["smart"].endpoints_without_requirements(ops_app.app) == []


def test_dead_letters_are_replayed_and_discarded_with_a_reason_and_audited(broker, ehr, ops_app):
    marker = uuid.uuid4().hex
    to_replay, to_discard = dead_letter(broker, ops_app.group, marker), dead_letter(broker, ops_app.group, marker + "b")
    browser = signed_in(ops_app.app, None, fhir_user=f"{ehr.base_url}/{ops_app.ops_user}", scope=SCOPES,
                        cookie="ops-cookie")
    page = wait_for(lambda: (lambda text: text if to_discard in text else "")(
        browser.get("/ops", headers=HTML).get_data(as_text=True)), timeout_s=60, what="the dead letters on the page")
    assert marker not in page and "private note" not in page, "ids and reasons only, never the payload"
    assert "PermanentError: simulated" in page and "ehr.events:0:7" in page and "referral-requested" in page
    assert 'data-testid="outbox-pending">0<' in page and 'data-testid="no-held"' in page
    replay_ref, discard_ref = ref_of(page, to_replay), ref_of(page, to_discard)
    token = token_of(page)

    forged = browser.post("/ops/dead-letters/replay", data={"ref": replay_ref, "reason": "fixed"}, headers=HTML)
    assert forged.status_code == 403, "the form guard: no token, no action"
    no_reason = browser.post("/ops/dead-letters/replay", data={"ref": replay_ref, "reason": " ", "csrf_token": token},
                             headers=HTML)
    assert no_reason.status_code == 400 and "a reason is required" in no_reason.get_data(as_text=True)
    assert audit_rows(ops_app) == []

    done = browser.post("/ops/dead-letters/replay", data={"ref": replay_ref, "reason": "EHR mapping fixed",
                                                          "csrf_token": token}, headers=HTML)
    assert done.status_code == 303 and done.headers["Location"].endswith("/ops?done=replayed")
    discarded = browser.post("/ops/dead-letters/discard", data={"ref": discard_ref, "reason": "test record",
                                                                "csrf_token": token}, headers=HTML)
    assert discarded.status_code == 303

    assert [(a["action"], a["target"], a["actor"], a["reason"], a["outcome"]) for a in audit_rows(ops_app)] == [
        ("dead-letter-replay", replay_ref, ops_app.ops_user, "EHR mapping fixed", "done"),
        ("dead-letter-discard", discard_ref, ops_app.ops_user, "test record", "done")]
    replayed = [r for r in read_all(broker.bootstrap, EHR_EVENTS)
                if dict(r.headers).get("ketalink-replayed-from") == replay_ref.encode()]
    assert len(replayed) == 1 and replayed[0].key == f"patient-{marker}".encode()

    after = browser.get("/ops?done=replayed", headers=HTML).get_data(as_text=True)
    assert replay_ref not in after.split('data-testid="audit"')[0] and "Replayed into the source topic" in after
    assert ops_app.ops_user in after.split('data-testid="audit"')[1]
    settled = browser.get("/ops?settled=yes", headers=HTML).get_data(as_text=True)
    assert replay_ref in settled and discard_ref in settled


def test_held_records_are_released_and_discarded_in_key_order(ehr, ops_app):
    now = utcnow()
    with ops_app.runtime.engine.begin() as conn:
        ids = [conn.execute(held_records.insert().values(
            consumer=ops_app.group, source_topic=EHR_EVENTS, source_partition=1, source_offset=offset,
            message_key="patient-held", value=b'{"secret": "private"}', headers="[]", state=state, attempts=attempts,
            reason="TransientError: EHR answered 500", held_at=now - timedelta(minutes=5),
            next_attempt_at=None)).inserted_primary_key[0]
            for offset, state, attempts in ((40, "parked", 9), (41, "waiting", 0))]
    browser = signed_in(ops_app.app, None, fhir_user=f"{ehr.base_url}/{ops_app.ops_user}", scope=SCOPES,
                        cookie="ops-held")
    page = browser.get("/ops", headers=HTML).get_data(as_text=True)
    assert f'data-id="{ids[0]}"' in page and "ehr.events:1:40" in page and "private" not in page
    token = token_of(page)

    behind = browser.post(f"/ops/held/{ids[1]}/discard", data={"reason": "skip it", "csrf_token": token},
                          headers=HTML)
    assert behind.status_code == 409 and "waits behind held record" in behind.get_data(as_text=True)
    released = browser.post(f"/ops/held/{ids[0]}/release", data={"reason": "EHR fixed", "csrf_token": token},
                            headers=HTML)
    assert released.status_code == 303
    with ops_app.runtime.engine.connect() as conn:
        states = dict(conn.execute(select(held_records.c.id, held_records.c.state)).all())
    assert states == {ids[0]: "retrying", ids[1]: "waiting"}
    assert [(a["action"], a["target"], a["actor"]) for a in audit_rows(ops_app)] == [
        ("held-release", f"held:{ids[0]}", ops_app.ops_user)]


def test_without_the_broker_the_page_still_shows_the_rest_and_acting_is_a_503(ehr, tmp_path, monkeypatch):
    ops_app = build_ops_app(f"127.0.0.1:{free_port()}", ehr, tmp_path, monkeypatch)
    browser = signed_in(ops_app.app, None, fhir_user=f"{ehr.base_url}/{ops_app.ops_user}", scope=SCOPES,
                        cookie="ops-no-broker")
    page = browser.get("/ops", headers=HTML)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The dead-letter topics could not be read" in text
    assert 'data-testid="outbox-pending">0<' in text and 'data-testid="no-held"' in text
    cookie = f"{ops_app.app.extensions['smart'].cookie_name}=ops-no-broker"
    with ops_app.app.test_request_context(headers={"Cookie": cookie}):
        token = form_token()  # the page has no form to read it from: nothing is listed
    refused = browser.post("/ops/dead-letters/replay", data={"ref": "ehr.events.dlq:0:1", "reason": "EHR fixed",
                                                             "csrf_token": token}, headers=HTML)
    assert refused.status_code == 503 and "nothing was replayed" in refused.get_data(as_text=True)
    assert audit_rows(ops_app) == []
    ops_app.runtime.engine.dispose()
