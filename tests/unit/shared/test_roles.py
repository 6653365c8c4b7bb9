"""The prescriber rule (``shared/roles.py``): which clinician may decide eligibility, sign orders and notes, from
the EHR's PractitionerRole of the launch's fhirUser (a stand-in EHR here) or the token's scopes."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from flask import Flask, jsonify
from pydantic import ValidationError

from shared.api import RequestModel
from shared.config import SettingsError, load_settings
from shared.fhir.client import FhirError, FhirUnavailable
from shared.roles import (
    ATTESTATIONS, Attested, ClinicianRoles, RoleSettings, install_roles, is_prescriber, require_prescriber,
    roles_from_practitioner_roles,
)
from shared.roles import _cache as role_cache
from shared import roles as roles_module
from shared.smart import SmartAuthError, SmartContext
from shared.smart.app import SmartAuth

ISS = "https://ehr.example.org/fhir"
TODAY = date(2026, 12, 7)
NURSE_ROLE = {"resourceType": "PractitionerRole", "active": True, "code": [
    {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "nurse",
                 "display": "Nurse"}]},
    {"coding": [{"system": "http://snomed.info/sct", "code": "224535009", "display": "Registered nurse"}]}]}
DOCTOR_ROLE = {"resourceType": "PractitionerRole", "active": True, "code": [
    {"coding": [{"system": "http://snomed.info/sct", "code": "309343006", "display": "Physician"}]}]}
NP_ROLE = {"resourceType": "PractitionerRole", "code": [
    {"coding": [{"system": "http://snomed.info/sct", "code": "224571005"}], "text": "Nurse practitioner"}]}


def context(who: str = "rn-1", scopes: tuple[str, ...] = (), session: str = "s1") -> SmartContext:
    return SmartContext(source="session", iss=ISS, access_token=f"token-{who}", scopes=scopes, patient="p1",
                        encounter=None, fhir_user=f"{ISS}/Practitioner/{who}", session_hash=session)


def roles(*resources: dict) -> ClinicianRoles:
    return roles_from_practitioner_roles(resources, TODAY)


def test_a_registered_nurse_is_not_a_prescriber():
    assert not is_prescriber(roles(NURSE_ROLE), (), RoleSettings())


def test_a_physician_and_a_nurse_practitioner_are_prescribers_by_default():
    assert is_prescriber(roles(DOCTOR_ROLE), (), RoleSettings())
    assert is_prescriber(roles(NURSE_ROLE, NP_ROLE), (), RoleSettings())
    assert is_prescriber(roles({"code": [{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/practitioner-role", "code": "doctor"}]}]}), (),
        RoleSettings())


def test_an_inactive_or_expired_or_future_role_signs_nothing():
    assert not is_prescriber(roles({**DOCTOR_ROLE, "active": False}), (), RoleSettings())
    assert not is_prescriber(roles({**DOCTOR_ROLE, "period": {"end": "2026-12-06"}}), (), RoleSettings())
    assert not is_prescriber(roles({**DOCTOR_ROLE, "period": {"start": "2026-12-08"}}), (), RoleSettings())
    assert not is_prescriber(roles({**DOCTOR_ROLE, "period": {"end": "not a date"}}), (), RoleSettings())
    assert is_prescriber(roles({**DOCTOR_ROLE, "period": {"start": "2020-01-01", "end": "2026-12-07"}}), (),
                         RoleSettings())


def test_the_clinic_decides_which_codes_and_scopes_make_a_prescriber():
    nurse_may = RoleSettings(prescriber_role_codes=("http://snomed.info/sct|224535009",))
    assert is_prescriber(roles(NURSE_ROLE), (), nurse_may)
    assert not is_prescriber(roles(DOCTOR_ROLE), (), nurse_may)
    by_scope = RoleSettings(prescriber_scopes=("user/ketalink.prescriber",))
    assert is_prescriber(roles(), ("openid", "user/ketalink.prescriber"), by_scope)
    assert not is_prescriber(roles(), ("user/ketalink.prescriber",), RoleSettings())  # no scope configured


def test_role_settings_are_checked_at_start():
    settings = load_settings(RoleSettings, "KETALINK_", {
        "KETALINK_PRESCRIBER_ROLE_CODES": "http://snomed.info/sct|309343006, urn:oid:1.2.3|md",
        "KETALINK_PRESCRIBER_SCOPES": "user/ketalink.prescriber", "KETALINK_ROLE_CACHE_S": "0"})
    assert settings.prescriber_role_codes == ("http://snomed.info/sct|309343006", "urn:oid:1.2.3|md")
    for variable, value in (("KETALINK_PRESCRIBER_ROLE_CODES", "309343006"),
                            ("KETALINK_PRESCRIBER_ROLE_CODES", "snomed|309343006"),
                            ("KETALINK_PRESCRIBER_ROLE_CODES", ","),
                            ("KETALINK_ROLE_CACHE_S", "-1"), ("KETALINK_ROLE_CACHE_S", "86400")):
        with pytest.raises(SettingsError, match=variable.removeprefix("KETALINK_").lower()):
            load_settings(RoleSettings, "KETALINK_", {variable: value})


class StubEhr:
    def __init__(self, by_practitioner: dict[str, list[dict]], fail: FhirError | None = None):
        self.by_practitioner = by_practitioner
        self.fail = fail
        self.searches = 0

    def search_first_page(self, resource_type: str, params: dict) -> list[dict]:
        assert resource_type == "PractitionerRole"
        self.searches += 1
        if self.fail:
            raise self.fail
        return [{**role, "practitioner": {"reference": params["practitioner"]}}
                for role in self.by_practitioner.get(params["practitioner"], [])]

    def read(self, resource_type: str, resource_id: str) -> dict:
        assert resource_type == "PractitionerRole"
        return {**DOCTOR_ROLE, "id": resource_id}


@pytest.fixture
def ehr(monkeypatch) -> StubEhr:
    stub = StubEhr({"Practitioner/rn-1": [NURSE_ROLE], "Practitioner/md-1": [DOCTOR_ROLE]})
    monkeypatch.setattr(roles_module, "ehr_as_clinician", lambda context: stub)
    role_cache.clear()
    return stub


@pytest.fixture
def app() -> Flask:
    """An app with SMART's error pages (403 as an OperationOutcome or the error page) and the role settings."""
    app = Flask(__name__)
    smart = SmartAuth.__new__(SmartAuth)  # only the error responses are used here
    app.register_error_handler(SmartAuthError, lambda error: SmartAuth.error_response(smart, error))
    app.jinja_loader = __import__("jinja2").PackageLoader("shared.smart", "templates")
    install_roles(app, RoleSettings())
    return app


def test_a_nurse_is_refused_with_the_action_and_the_role_needed(ehr, app):
    with app.test_request_context():
        with pytest.raises(SmartAuthError) as refused:
            require_prescriber(context("rn-1"), "sign this order")
    assert refused.value.status == 403
    assert "Only a prescriber may sign this order" in refused.value.message
    assert "Nurse, Registered nurse" in refused.value.message


def test_a_prescriber_passes_and_the_roles_are_read_once_per_session(ehr, app):
    with app.test_request_context():
        assert require_prescriber(context("md-1"), "sign this note").codes == {"http://snomed.info/sct|309343006"}
        require_prescriber(context("md-1"), "sign this note")
    assert ehr.searches == 1


def test_a_fhir_user_naming_a_practitioner_role_is_read_directly(ehr, app):
    with app.test_request_context():
        who = replace(context(), fhir_user=f"{ISS}/PractitionerRole/role-9")
        assert require_prescriber(who, "decide eligibility").codes


def test_no_fhir_user_or_an_ehr_that_does_not_answer_signs_nothing(ehr, app):
    with app.test_request_context():
        with pytest.raises(SmartAuthError, match="no role recorded in the EHR"):
            require_prescriber(replace(context(), fhir_user=None), "decide eligibility")
        ehr.fail = FhirUnavailable(503, ["down"])
        with pytest.raises(SmartAuthError) as down:
            require_prescriber(context("md-2"), "decide eligibility")
        assert down.value.status == 502
        ehr.fail = FhirError(403, ["forbidden"])
        with pytest.raises(SmartAuthError, match="PractitionerRole.rs") as forbidden:
            require_prescriber(context("md-3"), "decide eligibility")
        assert forbidden.value.status == 403


def test_the_refusal_is_an_operation_outcome_on_the_api_and_the_error_page_on_pages(ehr, app):
    @app.post("/sign")
    def sign():  # type: ignore[no-untyped-def]
        require_prescriber(context("rn-1"), "sign this order")
        return jsonify({"signed": True})

    client = app.test_client()
    api = client.post("/sign", headers={"Accept": "application/fhir+json"})
    assert api.status_code == 403
    assert api.get_json()["resourceType"] == "OperationOutcome"
    assert "Only a prescriber may sign this order" in api.get_json()["issue"][0]["diagnostics"]
    page = client.post("/sign", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "Prescriber needed" in page.get_data(as_text=True)


def test_without_smart_there_is_no_one_to_check(app):
    with app.test_request_context():
        from flask import g
        g.smart_auth_required = False
        assert require_prescriber(None, "sign this order") is None
        g.smart_auth_required = True
        with pytest.raises(SmartAuthError):
            require_prescriber(None, "sign this order")


def test_an_attestation_must_be_ticked():
    class Sign(RequestModel):
        attested: Attested

    assert Sign.model_validate({"attested": True}).attested
    for body in ({"attested": False}, {}):
        with pytest.raises(ValidationError, match="attested"):
            Sign.model_validate(body)
    assert set(ATTESTATIONS) == {"decide-eligibility", "sign-order", "sign-note"}


def test_sign_in_can_be_turned_off_only_in_a_local_run(monkeypatch):
    """SMART_AUTH_REQUIRED=false leaves no clinician to check, so nobody's role is checked: refused at start unless
    KETALINK_LOCAL_RUN says this is a developer's machine."""
    from types import SimpleNamespace

    from shared.clinic_time import ClinicTimeSettings
    from shared.smart import install_smart

    monkeypatch.setenv("SMART_AUTH_REQUIRED", "false")
    clinic = SimpleNamespace(name="orders", clinic_time=ClinicTimeSettings("America/Chicago"))
    with pytest.raises(SystemExit, match="SMART_AUTH_REQUIRED=false turns off sign-in and every role check"):
        install_smart(Flask(__name__), clinic)


def test_a_role_of_another_practitioner_does_not_make_the_signed_in_nurse_a_prescriber(ehr, app):
    """An EHR that ignores ``practitioner=`` answers with every clinician's roles: only the fhirUser's own count."""
    physicians = {**DOCTOR_ROLE, "practitioner": {"reference": f"{ISS}/Practitioner/md-1"}}
    nurses = {**NURSE_ROLE, "practitioner": {"reference": "Practitioner/rn-1"}}
    unowned = dict(DOCTOR_ROLE)  # names no practitioner: nobody's role
    ehr.search_first_page = lambda resource_type, params: [physicians, nurses, unowned]
    with app.test_request_context():
        with pytest.raises(SmartAuthError) as refused:
            require_prescriber(context("rn-1"), "sign this order")
        assert refused.value.status == 403
        assert require_prescriber(context("md-1", session="s2"), "sign this order").codes == {
            "http://snomed.info/sct|309343006"}
    mine = roles_from_practitioner_roles([physicians, nurses], TODAY, f"{ISS}/Practitioner/rn-1")
    assert not is_prescriber(mine, (), RoleSettings())
