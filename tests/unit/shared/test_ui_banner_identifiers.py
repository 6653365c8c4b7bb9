"""Two patient identifiers on every page (issue 13, defect 20): the banner shows the date of birth and the MRN
(``Patient.identifier`` typed v2-0203 MR, or the clinic's MRN system) next to the name."""
from __future__ import annotations

from datetime import date

import pytest
from flask import Flask, render_template_string

from shared.config import SettingsError, load_settings
from shared.ui import PatientBanner, install_ui, load_patient_banner, medical_record_number
from shared.ui.banner import BannerSettings, banner_weight

MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"use": "official", "family": "Gonzalez",
                                                              "given": ["Maria"]}],
           "gender": "female", "birthDate": "1978-03-14",
           "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.1", "value": "123-45-6789"},
                          {"use": "usual", "type": MR_TYPE, "system": "https://ehr.example.org/mrn",
                           "value": "KL-1001"}]}


class PatientOnlyEhr:
    def read(self, resource_type: str, resource_id: str) -> dict:
        return PATIENT

    def search_first_page(self, resource_type: str, params: dict) -> list[dict]:
        return []


def test_the_banner_carries_the_date_of_birth_and_the_mrn():
    banner = load_patient_banner(PatientOnlyEhr(), "p1", today=date(2026, 12, 7))
    assert (banner.birth_date, banner.age_years, banner.mrn) == ("1978-03-14", 48, "KL-1001")


def test_the_mrn_is_the_identifier_typed_mr_or_of_the_clinics_system():
    assert medical_record_number(PATIENT) == "KL-1001"  # not the SSN-like identifier listed first
    assert medical_record_number(PATIENT, "urn:oid:2.16.840.1.113883.4.1") == "123-45-6789"
    assert medical_record_number(PATIENT, "https://other.example.org/mrn") is None
    assert medical_record_number({"identifier": [{"system": "x", "value": "1"}]}) is None  # untyped: no MRN
    old_and_new = {"identifier": [{"use": "old", "type": MR_TYPE, "value": "OLD-1"},
                                  {"type": MR_TYPE, "value": "ENDED", "period": {"end": "2020-01-01"}},
                                  {"type": MR_TYPE, "value": "SECOND"},
                                  {"use": "official", "type": MR_TYPE, "value": "CURRENT"}]}
    assert medical_record_number(old_and_new) == "CURRENT"


def test_the_mrn_system_setting_must_be_a_uri():
    assert load_settings(BannerSettings, "KETALINK_", {}).mrn_identifier_system == ""
    with pytest.raises(SettingsError, match="mrn_identifier_system"):
        load_settings(BannerSettings, "KETALINK_", {"KETALINK_MRN_IDENTIFIER_SYSTEM": "mrn"})


def render_banner(banner: PatientBanner) -> str:
    app = Flask("unit-ui-banner")
    install_ui(app, "Unit")
    with app.test_request_context("/"):
        return render_template_string('{% extends "ui/base.html" %}', banner=banner)


def test_every_page_shows_the_name_date_of_birth_and_mrn_or_says_they_are_missing():
    html = render_banner(PatientBanner("p1", "Maria Gonzalez", 48, "female", 68.4, "2026-12-05", (),
                                       birth_date="1978-03-14", mrn="KL-1001"))
    assert "Maria Gonzalez" in html
    assert 'data-testid="banner-dob">DOB: <strong>1978-03-14</strong> (48 y)' in html
    assert 'data-testid="banner-mrn">MRN: <strong>KL-1001</strong>' in html
    missing = render_banner(PatientBanner("p1", "Maria Gonzalez", None, None, None, None))
    assert "DOB: <strong>none recorded</strong>" in missing and "MRN: <strong>none recorded</strong>" in missing


def test_the_age_is_counted_on_the_clinics_day(monkeypatch):
    """Late evening in Chicago is already tomorrow in UTC: on the eve of a birthday the banner must not age the
    patient a day early."""
    from datetime import datetime as real_datetime, timezone
    from zoneinfo import ZoneInfo

    from shared.clinic_time import clinic_zone_context
    from shared.ui import banner as banner_module

    class NightBefore(real_datetime):
        @classmethod
        def now(cls, tz=None):  # 2026-03-14 02:00 UTC = 2026-03-13 21:00 in Chicago, the eve of the 48th birthday
            return real_datetime(2026, 3, 14, 2, 0, tzinfo=timezone.utc).astimezone(tz)

    monkeypatch.setattr(banner_module, "datetime", NightBefore)
    with clinic_zone_context(ZoneInfo("America/Chicago")):
        assert load_patient_banner(PatientOnlyEhr(), "p1").age_years == 47
    with clinic_zone_context(ZoneInfo("UTC")):
        assert load_patient_banner(PatientOnlyEhr(), "p1").age_years == 48


class OddRecordEhr(PatientOnlyEhr):
    """An EHR whose patient and weight records are odd but not unreadable."""

    def __init__(self, birth_date: str, weight: dict | None = None):
        self.patient = {**PATIENT, "birthDate": birth_date}
        self.weight = weight

    def read(self, resource_type: str, resource_id: str) -> dict:
        return self.patient

    def search_first_page(self, resource_type: str, params: dict) -> list[dict]:
        if resource_type == "Observation" and self.weight is not None:
            return [{"status": "final", "valueQuantity": self.weight, "effectiveDateTime": "2026-12-01T09:00:00Z"}]
        return []


@pytest.mark.parametrize("birth_date", ["1978-02-30", "2030-01-01", "1978-3-14"])
def test_an_impossible_or_future_birth_date_shows_no_age_and_the_page_still_loads(birth_date):
    """Reviewer R3: "1978-02-30" raised ValueError (a 500 on every page of the patient); a future date gave a
    negative age."""
    banner = load_patient_banner(OddRecordEhr(birth_date), "p1", today=date(2026, 12, 7))
    assert banner.age_years is None and banner.birth_date == birth_date  # shown as the EHR has it


@pytest.mark.parametrize("quantity, shown", [
    ({"value": 70, "code": "kg"}, 70.0), ({"value": 154.3, "code": "[lb_av]"}, 70.0),
    ({"value": 70000, "code": "g"}, 70.0),  # was shown as 70000 kg
    ({"value": 70, "unit": "stone"}, None), ({"value": "heavy", "code": "kg"}, None),  # unknown: not shown, no 500
])
def test_the_banner_weight_is_in_kg_or_not_shown(quantity, shown):
    banner = load_patient_banner(OddRecordEhr("1978-03-14", quantity), "p1", today=date(2026, 12, 7))
    assert banner.weight_kg == shown


@pytest.mark.parametrize("status", ["entered-in-error", "preliminary", "cancelled", None])
def test_the_banner_never_shows_a_weight_that_may_not_be_used(status: str | None) -> None:
    observation = {"resourceType": "Observation", "status": status, "effectiveDateTime": "2026-12-01",
                   "valueQuantity": {"value": 80, "code": "kg"}}
    assert banner_weight(observation) == (None, None)


@pytest.mark.parametrize(("status", "quantity", "shown"), [
    ("final", {"value": 80, "code": "kg"}, (80.0, "2026-12-01")),
    ("amended", {"value": 176.37, "code": "[lb_av]"}, (80.0, "2026-12-01")),
    ("corrected", {"value": 80, "code": "furlong"}, (None, None)),
])
def test_the_banner_shows_a_usable_weight_in_kg(status: str, quantity: dict, shown: tuple) -> None:
    observation = {"resourceType": "Observation", "status": status, "effectiveDateTime": "2026-12-01T09:00:00Z",
                   "valueQuantity": quantity}
    assert banner_weight(observation) == shown
