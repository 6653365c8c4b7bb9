"""``ORDERS_COURSE_PATIENT_LINK_*``: who may make a patient's questionnaire link, checked at start-up (HZ-178)."""
from __future__ import annotations

import pytest
from flask import Flask

from services.orders.course.access import (
    DEFAULT_PATIENT_LINK_ROLE_CODES, PatientLinkAccessSettings, install_patient_link_access, patient_link_maker,
)
from shared.config import SettingsError, load_settings
from shared.roles import ROLE_DOCTOR, ROLE_NURSE, SNOMED_NURSE_PRACTITIONER, SNOMED_PHYSICIAN, SNOMED_REGISTERED_NURSE

PREFIX = "ORDERS_COURSE_"


def test_by_default_nurses_physicians_and_nurse_practitioners_make_links_and_no_scope_does():
    settings = load_settings(PatientLinkAccessSettings, PREFIX, {})
    assert set(settings.patient_link_role_codes) == {ROLE_NURSE, ROLE_DOCTOR, SNOMED_REGISTERED_NURSE,
                                                     SNOMED_PHYSICIAN, SNOMED_NURSE_PRACTITIONER}
    assert settings.patient_link_role_codes == DEFAULT_PATIENT_LINK_ROLE_CODES
    assert settings.patient_link_scopes == ()
    assert "http://terminology.hl7.org/CodeSystem/practitioner-role|ict" not in settings.patient_link_role_codes


def test_the_clinic_names_its_own_roles_and_scopes():
    settings = load_settings(PatientLinkAccessSettings, PREFIX, {
        f"{PREFIX}PATIENT_LINK_ROLE_CODES": "http://snomed.info/sct|224535009",
        f"{PREFIX}PATIENT_LINK_SCOPES": "user/ketalink.patient-links"})
    assert settings.patient_link_role_codes == ("http://snomed.info/sct|224535009",)
    assert settings.patient_link_scopes == ("user/ketalink.patient-links",)
    PatientLinkAccessSettings((), ("system/ketalink.patient-links",)).validate()  # a scope alone will do


@pytest.mark.parametrize("environ, complaint", [
    ({f"{PREFIX}PATIENT_LINK_ROLE_CODES": "nurse"}, "not system|code"),
    ({f"{PREFIX}PATIENT_LINK_ROLE_CODES": "snomed|224535009"}, "not system|code"),
    ({f"{PREFIX}PATIENT_LINK_ROLE_CODES": "http://snomed.info/sct|"}, "not system|code"),
    ({f"{PREFIX}PATIENT_LINK_SCOPES": "user/a b"}, "not a scope"),
])
def test_bad_settings_stop_the_start(environ, complaint):
    with pytest.raises(SettingsError, match=complaint):
        load_settings(PatientLinkAccessSettings, PREFIX, environ)


def test_no_role_and_no_scope_is_refused():
    with pytest.raises(ValueError, match="nobody could make"):
        PatientLinkAccessSettings((), ()).validate()


def test_installed_at_start_up_and_nobody_to_check_where_smart_is_off(monkeypatch):
    monkeypatch.setenv(f"{PREFIX}PATIENT_LINK_ROLE_CODES", "not-a-code")
    with pytest.raises(SystemExit, match="patient_link_role_codes: 'not-a-code'"):
        install_patient_link_access(Flask("t"))
    monkeypatch.delenv(f"{PREFIX}PATIENT_LINK_ROLE_CODES")
    app = Flask("t")
    assert install_patient_link_access(app).patient_link_role_codes == DEFAULT_PATIENT_LINK_ROLE_CODES
    with app.app_context():
        assert patient_link_maker(None) is None  # SMART off (local runs): no context, no one to check
