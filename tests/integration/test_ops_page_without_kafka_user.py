"""The operations page as the deployment runs it by default: the web process has the SASL listener's settings but no
Kafka user (the web pods get one only where the site turns the page's dead-letter access on). The page says so at
once and names the CLI, instead of waiting on a broker it may not reach; held records, the outbox and the audit
still show; replay and discard answer 503 and change nothing."""
from __future__ import annotations

import time
import uuid

import pytest

from deploy.local.ports import free_port
from services.intake.bootstrap import build
from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from shared.ui import form_token
from tests.integration.test_ops_page import HTML, ICT, SCOPES, OpsApp, audit_rows
from tests.support.backend_auth import service_tokens
from tests.support.practitioners import clinician
from tests.support.smart_sessions import signed_in

pytestmark = pytest.mark.integration
REQUEST_TIMEOUT_MS = 15000  # what a page that tried the broker would wait at least


def test_without_a_kafka_user_the_page_says_so_at_once_and_names_the_cli(ehr, tmp_path, monkeypatch):
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    monkeypatch.setenv("SMART_ALLOWED_ISSUERS", ehr.base_url)
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'intake.db'}", ehr_fhir_base_url=ehr.base_url,
                               consumer_group=f"ketalink-intake-{uuid.uuid4().hex[:8]}")
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", security_protocol="SASL_SSL",
                          sasl_mechanism="SCRAM-SHA-512", request_timeout_ms=REQUEST_TIMEOUT_MS)
    runtime = ServiceRuntime("intake", settings, kafka, ehr_tokens=service_tokens("intake", ehr.base_url))
    app, _handlers, _responses = build(runtime)
    ops_user = clinician(ehr.client, "ops-no-user", "Otto Ops", ICT).fhir_user.rsplit("/", 1)[1]
    ops_app = OpsApp(app, runtime, settings.consumer_group or "", f"Practitioner/{ops_user}")
    try:
        browser = signed_in(app, None, fhir_user=f"{ehr.base_url}/Practitioner/{ops_user}", scope=SCOPES,
                            cookie="ops-no-kafka-user")
        started = time.monotonic()
        page = browser.get("/ops", headers=HTML)
        elapsed_s = time.monotonic() - started
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "holds no Kafka user" in text, text[:2000]
        assert "python -m shared.ops intake dead-letters list" in text
        assert elapsed_s < REQUEST_TIMEOUT_MS / 1000, f"the page waited on the broker ({elapsed_s:.1f} s)"
        assert 'data-testid="outbox-pending">0<' in text and 'data-testid="no-held"' in text
        cookie = f"{app.extensions['smart'].cookie_name}=ops-no-kafka-user"
        with app.test_request_context(headers={"Cookie": cookie}):
            token = form_token()
        for path, form in (("/ops/dead-letters/replay", {"ref": "ehr.events.dlq:0:1"}),
                           ("/ops/dead-letters/discard", {"ref": "ehr.events.dlq:0:1"})):
            refused = browser.post(path, data={**form, "reason": "EHR fixed", "csrf_token": token}, headers=HTML)
            answer = refused.get_data(as_text=True)
            assert refused.status_code == 503 and "holds no Kafka user" in answer and "Nothing was changed" in answer
        assert audit_rows(ops_app) == []
    finally:
        runtime.engine.dispose()
