"""The orders app as ``bootstrap.build`` wires it: SMART on every endpoint, each declaring the scopes it needs."""
from __future__ import annotations

import pytest

from shared.events.kafka_clients import KafkaSettings
from shared.runtime import ServiceRuntime, ServiceSettings
from services.orders.bootstrap import build


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    built, _handlers, _responses = build(runtime)
    return built


def test_every_endpoint_declares_what_it_needs(app):
    assert app.extensions["smart"].endpoints_without_requirements(app) == []


def test_the_requirements_name_the_fhir_resources(app):
    def needs(endpoint: str) -> set[tuple[str, str]]:
        return {(r.resource_type, r.action) for r in app.view_functions[endpoint].smart_requirements}

    assert needs("api.preview_dose") == {("Patient", "r"), ("Observation", "r")}
    assert needs("api.create_order") == {("MedicationRequest", "c"), ("CarePlan", "c")}
    for change in ("sign_order", "hold_order", "resume_order", "cancel_order"):
        assert needs(f"api.{change}") == {("MedicationRequest", "u"), ("CarePlan", "u")}
    assert needs("api.get_order") == {("MedicationRequest", "r"), ("CarePlan", "r")}
    assert needs("api.patient_series") == {("CarePlan", "s"), ("MedicationRequest", "s")}
    assert needs("api.patient_eligibility") == {("RiskAssessment", "s"), ("Consent", "s")}
    assert needs("orders_ui.create_order") == {("MedicationRequest", "c"), ("CarePlan", "c")}
    assert needs("orders_ui.change_order") == {("MedicationRequest", "u"), ("CarePlan", "u")}


def test_without_credentials_the_api_answers_401_and_the_pages_ask_for_a_launch(app):
    client = app.test_client()
    answer = client.post("/dose-preview", json={"patient_id": "p1"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and b'data-smart-error="launch-required"' in page.data
    assert client.get("/healthz").status_code == 200
    assert client.get("/ui/orders-static/orders/dose_preview.js").status_code == 200
    assert client.get("/ui-static/ketalink.css").status_code == 200
