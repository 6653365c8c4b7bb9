"""Patient binding and accepted clients in ``shared.smart`` (issue 15): a context with a patient reaches that patient
only, whatever its scopes, on every ``@requires``; an operation that names no patient is refused to it unless it
declares it touches none; a guard runs after the requirements; a bearer token issued to a client this service does
not accept is refused. The real-token versions: tests/integration/smart/test_patient_binding.py and tests/security."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask

from shared.api import Api
from shared.db import create_database
from shared.smart import SmartAuth, SmartAuthError, SmartSettings, from_body, from_path, guarded_by, requires
from shared.smart.tokens import TokenClaims
from tests.support.smart_sessions import signed_in

ISS = "https://ehr.example.org/fhir"
USER_LEVEL = "launch openid fhirUser user/*.cruds"  # the old default: the EHR bounds it, not to one patient
PATIENT_LEVEL = "launch openid fhirUser patient/*.cruds"
guarded: list[str] = []


def _exporter(context) -> None:  # type: ignore[no-untyped-def]
    guarded.append(context.source)
    if "user/ketalink.export" not in context.scopes:
        raise SmartAuthError(403, "needs the export grant")


def build(tmp_path, settings: SmartSettings | None = None) -> tuple[Flask, SmartAuth]:
    engine = create_database(f"sqlite:///{tmp_path / 'app.db'}")
    app = Flask("unit-binding")
    api = Api("t", "1", "d", engine)

    @api.operation("/patients/<patient_id>/observations", "GET", summary="one patient's")
    @requires("Observation", "rs", patient=from_path("patient_id"))
    def observations(patient_id: str):  # type: ignore[no-untyped-def]
        return {"patient_id": patient_id}

    @api.operation("/observations", "POST", summary="for the body's patient")
    @requires("Observation", "c", patient=from_body("subject.patient_id"))
    def record():  # type: ignore[no-untyped-def]
        return {"recorded": True}, 201

    @api.operation("/observations", "GET", summary="every patient's")
    @requires("Observation", "s")
    def every_patients():  # type: ignore[no-untyped-def]
        return {"all": True}

    @api.operation("/codes", "GET", summary="reference data")
    @requires("ValueSet", "r", touches_no_patient=True)
    def codes():  # type: ignore[no-untyped-def]
        return {"codes": []}

    @api.operation("/export", "GET", summary="guarded")
    @requires("Observation", "s")
    @guarded_by(_exporter)
    def export():  # type: ignore[no-untyped-def]
        return {"exported": True}

    api.install(app)
    smart = SmartAuth(app, engine, settings or SmartSettings(), client_id="unit-app", allowed_issuers=(ISS,))
    return app, smart


@pytest.mark.parametrize("scope", [USER_LEVEL, PATIENT_LEVEL])
def test_a_session_for_one_patient_reaches_that_patient_only_whatever_its_scopes(tmp_path, scope):
    app, _smart = build(tmp_path)
    client = signed_in(app, "patient-a", scope=scope)
    assert client.get("/patients/patient-a/observations").status_code == 200
    refused = client.get("/patients/patient-b/observations")
    assert refused.status_code == 403 and refused.mimetype == "application/fhir+json"
    diagnostics = refused.json["issue"][0]["diagnostics"]
    assert "another patient" in diagnostics and "patient-b" not in diagnostics and "patient-a" not in diagnostics
    assert client.post("/observations", json={"subject": {"patient_id": "patient-a"}}).status_code == 201
    assert client.post("/observations", json={"subject": {"patient_id": "patient-b"}}).status_code == 403
    assert client.post("/observations", json={"subject": {"patient_id": ["patient-a"]}}).status_code == 403
    assert client.post("/observations", data="not json", content_type="application/json").status_code == 403
    across = client.get("/observations")
    assert across.status_code == 403 and "names no patient" in across.json["issue"][0]["diagnostics"]
    page = client.get("/patients/patient-b/observations", headers={"Accept": "text/html"})
    assert page.status_code == 403 and b'data-smart-error="other-patient"' in page.data


def test_an_operation_touching_no_patient_is_open_to_a_patient_bound_context(tmp_path):
    app, _smart = build(tmp_path)
    assert signed_in(app, "patient-a", scope=USER_LEVEL + " user/ValueSet.rs").get("/codes").status_code == 200
    with pytest.raises(ValueError):
        requires("Observation", "r", patient=from_path("patient_id"), touches_no_patient=True)


def test_without_a_patient_in_context_user_level_scopes_reach_every_patient(tmp_path):
    app, _smart = build(tmp_path)
    client = signed_in(app, None, scope="openid fhirUser user/*.cruds")
    assert client.get("/patients/patient-b/observations").status_code == 200
    assert client.get("/observations").status_code == 200
    # ... and patient-level scopes without a patient reach nobody
    nobody = signed_in(app, None, scope="openid patient/*.cruds", cookie="cookie-2")
    assert nobody.get("/patients/patient-b/observations").status_code == 403


def test_a_guard_runs_after_the_requirements_and_refuses_on_its_own(tmp_path):
    app, _smart = build(tmp_path)
    guarded.clear()
    bound = signed_in(app, "patient-a", scope=USER_LEVEL + " user/ketalink.export")
    assert bound.get("/export").status_code == 403 and guarded == []  # the binding refused it first
    unbound = signed_in(app, None, scope="openid fhirUser user/*.cruds", cookie="cookie-2")
    refused = unbound.get("/export")
    assert refused.status_code == 403 and "export grant" in refused.json["issue"][0]["diagnostics"]
    granted = signed_in(app, None, scope="openid fhirUser user/*.cruds user/ketalink.export", cookie="cookie-3")
    assert granted.get("/export").status_code == 200 and guarded == ["session", "session"]


class StubVerifier:
    """What the EHR's keys would have verified; the client check comes after."""

    def __init__(self, client_id: str | None):
        self.client_id = client_id

    def verify_jwt(self, token: str) -> TokenClaims:
        return TokenClaims(iss=ISS, scope="user/*.cruds", patient=None, encounter=None, fhir_user=None,
                           client_id=self.client_id, expires_at=None)


@pytest.mark.parametrize("client_id, accepted, status", [
    ("unit-app", (), 200),  # default: the service's own client id
    ("another-app", (), 401),
    (None, (), 401),  # a token that names no client
    ("engine", ("unit-app", "engine"), 200),
    ("unit-app", ("engine",), 401),  # the setting replaces the default
])
def test_bearer_tokens_of_other_clients_are_refused(tmp_path, client_id, accepted, status):
    app, smart = build(tmp_path, replace(SmartSettings(), accepted_client_ids=accepted))
    smart.bearer = StubVerifier(client_id)  # type: ignore[assignment]
    answer = app.test_client().get("/patients/p1/observations", headers={"Authorization": "Bearer t"})
    assert answer.status_code == status, answer.json
    if status == 401:
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
        assert "client" in answer.json["issue"][0]["diagnostics"]


def test_the_client_id_comes_from_azp_when_the_token_has_no_client_id():
    from shared.smart.tokens import _claims

    assert _claims(ISS, {"azp": "unit-app", "scope": "x"}).client_id == "unit-app"
    assert _claims(ISS, {"client_id": "a", "azp": "b"}).client_id == "a"


def test_the_export_grant_is_validated_when_the_orders_app_is_built(tmp_path, monkeypatch):
    from services.orders.bootstrap import build as build_orders
    from services.orders.course.access import ROLE_RESEARCHER, ExportAccessSettings
    from shared.config import SettingsError, load_settings
    from shared.events.kafka_clients import KafkaSettings
    from shared.runtime import ServiceRuntime, ServiceSettings

    assert ExportAccessSettings().export_role_codes == (ROLE_RESEARCHER,) and ExportAccessSettings().export_scopes == ()
    with pytest.raises(SettingsError, match="ORDERS_COURSE_"):
        load_settings(ExportAccessSettings, "ORDERS_COURSE_", {"ORDERS_COURSE_EXPORT_ROLE_CODES": "researcher"})
    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    monkeypatch.setenv("ORDERS_COURSE_EXPORT_SCOPES", "user/ketalink export")
    runtime = ServiceRuntime("orders", ServiceSettings(database_url=f"sqlite:///{tmp_path / 'orders.db'}"),
                             KafkaSettings())
    with pytest.raises(SystemExit, match="export_scopes"):
        build_orders(runtime)


#: The operations that name no patient: refused to a patient-bound context, by design (lists across patients).
ACROSS_PATIENTS = {"orders": {"api.export_csv", "api.export_bundle", "api.clinic_questionnaires_due"},
                   "documentation": {"api.reconciliation", "documentation_ui.board_page",
                                     "documentation_ui.board_rows_fragment", "documentation_ui.board_json"},
                   "intake": set()}


@pytest.mark.parametrize("name", sorted(ACROSS_PATIENTS))
def test_every_operation_of_every_service_declares_its_patient_source(name, tmp_path, monkeypatch):
    """A view whose requirements name no patient would be refused to every patient-bound session (the binding
    fails closed); this lists them, so that a new one is a decision, not an accident."""
    import importlib

    from shared.events.kafka_clients import KafkaSettings
    from shared.runtime import ServiceRuntime, ServiceSettings

    monkeypatch.setenv("SMART_AUTH_REQUIRED", "true")
    runtime = ServiceRuntime(name, ServiceSettings(database_url=f"sqlite:///{tmp_path / f'{name}.db'}"),
                             KafkaSettings())
    app = importlib.import_module(f"services.{name}.bootstrap").build(runtime)[0]
    unbound = {endpoint for endpoint, view in app.view_functions.items()
               if any(r.patient is None and not r.touches_no_patient for r in getattr(view, "smart_requirements", ()))}
    assert unbound == ACROSS_PATIENTS[name]
    declared = [endpoint for endpoint, view in app.view_functions.items() if getattr(view, "smart_requirements", ())]
    assert len(declared) > 10  # the services' views are there
