"""The UI kit's signed-in clinician and banner (``shared.ui.clinician``, ``shared.ui.banner``) with a stand-in for
the EHR read as the clinician, and the base layout's error summary and banner."""
from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask, g, render_template_string

from shared.fhir.client import FhirError, FhirNotFound, FhirUnavailable
from shared.smart import SmartAuthError, SmartContext
from shared.ui import (
    PatientBanner, check_same_patient, clinician_name, fhir_user_reference, install_ui, launch_context,
    patient_banner,
)
from shared.ui import banner as banner_module, clinician as clinician_module

ISS = "https://ehr.example.org/fhir"
NURSE = f"{ISS}/Practitioner/rn-1"
CONTEXT = SmartContext(source="session", iss=ISS, access_token="token-1", scopes=(), patient="p1", encounter=None,
                       fhir_user=NURSE, session_hash="session-1")


class StubEhr:
    """What the pages read, counted; ``fail`` makes every read raise it."""

    def __init__(self, fail: FhirError | None = None):
        self.reads: list[tuple[str, str]] = []
        self.fail = fail

    def read(self, resource_type: str, resource_id: str) -> dict:
        self.reads.append((resource_type, resource_id))
        if self.fail:
            raise self.fail
        if resource_type == "Patient":
            return {"resourceType": "Patient", "id": resource_id, "name": [{"text": "Ada Lovelace"}]}
        return {"resourceType": resource_type, "id": resource_id,
                "name": [{"use": "usual", "text": "Grace"}, {"use": "official", "given": ["Grace"], "family": "Ng"}]}

    def search_first_page(self, resource_type: str, params: dict) -> list[dict]:
        return []


@pytest.fixture
def ehr(monkeypatch) -> StubEhr:
    stub = StubEhr()
    monkeypatch.setattr(clinician_module, "ehr_as_clinician", lambda context: stub)
    monkeypatch.setattr(banner_module, "ehr_as_clinician", lambda context: stub)
    monkeypatch.setattr(clinician_module, "_names", clinician_module._ClinicianNames())
    return stub


def test_the_clinicians_name_is_read_once_per_session(ehr):
    assert clinician_name(CONTEXT) == "Grace Ng"  # the official name
    assert clinician_name(CONTEXT) == "Grace Ng"
    assert ehr.reads == [("Practitioner", "rn-1")]
    clinician_name(replace(CONTEXT, session_hash="session-2"))  # another session reads again
    bearer = replace(CONTEXT, source="bearer", session_hash=None)
    clinician_name(bearer)
    clinician_name(bearer)  # a bearer call: once per token
    assert len(ehr.reads) == 3


def test_no_name_without_a_fhir_user_a_person_or_an_answer(ehr):
    assert clinician_name(replace(CONTEXT, fhir_user=None)) is None
    assert clinician_name(replace(CONTEXT, fhir_user=f"{ISS}/Device/d1")) is None
    assert ehr.reads == []
    ehr.fail = FhirUnavailable(503, ["down"])
    assert clinician_name(CONTEXT) is None
    ehr.fail = None
    assert clinician_name(CONTEXT) == "Grace Ng"  # a failed read is not kept: the next page asks again
    assert fhir_user_reference(NURSE) == "Practitioner/rn-1" == fhir_user_reference("Practitioner/rn-1/")


def test_the_banner_says_when_the_ehr_cannot_give_the_patient(ehr):
    banner = patient_banner(CONTEXT, "p1", eligibility="eligible")
    assert banner.display_name == "Ada Lovelace" and banner.problem is None and banner.eligibility == "eligible"
    ehr.fail = FhirUnavailable(503, ["down"])
    unreachable = patient_banner(CONTEXT, "p1", eligibility="needs-review")
    assert "cannot be reached" in unreachable.problem and unreachable.eligibility == "needs-review"
    assert not unreachable.allergies_known and unreachable.weight_kg is None
    ehr.fail = FhirNotFound(404, ["gone"])
    assert "HTTP 404" in patient_banner(CONTEXT, "p1").problem


def test_pages_need_a_launch_and_refuse_another_patients_record():
    app = Flask("unit-ui-clinician")
    with app.test_request_context("/"):
        with pytest.raises(SmartAuthError) as no_launch:
            launch_context()
        assert (no_launch.value.status, no_launch.value.page) == (401, "launch-required")
        g.smart_context = CONTEXT
        assert launch_context() is CONTEXT
        check_same_patient("p1", "order")
        with pytest.raises(SmartAuthError) as other:
            check_same_patient("p2", "order")
        assert (other.value.status, other.value.page) == (403, "other-patient")
        assert "This order belongs to another patient" in other.value.message


def render_page(**variables) -> str:
    app = Flask("unit-ui-base")
    install_ui(app, "Unit")
    with app.test_request_context("/"):
        return render_template_string('{% extends "ui/base.html" %}{% block head %}<link rel="stylesheet" '
                                      'href="/page.css">{% endblock %}', **variables)


def test_the_error_summary_links_each_field_in_words_under_the_pages_heading():
    html = render_page(errors=[("phq9.items[4]", "required"), ("", "the intake is decided")],
                       field_labels={"phq9.items[4]": "PHQ-9 item 5"})
    assert "Please correct the following" in html
    assert '<li><a href="#phq9-items-4">PHQ-9 item 5</a>: required</li><li>the intake is decided</li>' in html
    assert html.index('href="/page.css"') < html.index("</head>")  # the page's stylesheet in the head
    refused = render_page(errors=[("mg_per_kg", "too high")], error_heading="This was not done")
    assert "This was not done" in refused and "Please correct" not in refused
    assert '<a href="#mg_per_kg">mg_per_kg</a>' in refused  # no label: the field's name


def test_the_banner_or_what_is_missing_and_who_is_signed_in():
    banner = PatientBanner("p1", "Ada Lovelace", 36, "female", 61.2, "2024-05-01", ("penicillin",))
    html = render_page(banner=banner, clinician="Grace Ng, RN")
    assert 'data-testid="patient-banner"' in html and "61.2 kg" in html and "Signed in: Grace Ng, RN" in html
    missing = render_page(banner=PatientBanner.unreadable("p1", "it cannot be reached", "eligible"))
    assert 'data-testid="banner-problem"' in missing and "did not give this patient" in missing
    assert "Eligibility: eligible" in missing and "none recorded" not in missing and "Signed in" not in missing
