"""Issue 13 on the intake pages (in-process, SMART required, the real EHR sandbox for names and roles): consent
elements ticked one by one, the C-SSRS behavioural-health review recorded as the signed-in clinician, the
urgent-use pathway refused to a nurse, and "not applicable" for pregnancy offered only when the record allows it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain.consent import DEFAULT_CONSENT_ELEMENTS
from services.intake.domain.patient import AdministrativeSex, PatientSummary
from services.intake.domain.recording import record_cssrs, record_patient
from services.intake.domain.settings import IntakeSettings
from services.intake.repository import IntakeRepository
from services.intake.ui.forms import consent_element_field
from tests.unit.intake.builders import T0

from .test_ui_forms import HOST, _token, ui_app  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

MODERATE = {"wish-to-be-dead": True, "suicidal-thoughts": True, "ideation-with-method": True,
            "ideation-with-intent": False, "ideation-with-plan-and-intent": False,
            "suicidal-behaviour-lifetime": True, "suicidal-behaviour-past-3-months": False}


def stored(ui_app, intake_id):  # noqa: F811
    with ui_app.runtime.engine.connect() as conn:
        return IntakeRepository().get(conn, intake_id).intake


def change(ui_app, intake_id, how):  # noqa: F811
    with ui_app.runtime.engine.begin() as conn:
        repository = IntakeRepository()
        current = repository.get(conn, intake_id)
        repository.save(conn, current, how(current.intake))


def test_consent_records_each_element_ticked(ui_app):  # noqa: F811
    ui_app.add_intake("mine", ui_app.patient)
    browser = ui_app.browser()
    page = browser.get("/ui/intakes/mine").get_data(as_text=True)
    assert all(f'name="{consent_element_field(key)}"' in page for key in DEFAULT_CONSENT_ELEMENTS)
    form = {"csrf_token": _token(page), "consent.decision": "given", "consent.signed_by": "patient",
            "consent.consent_text_version": "iv-ketamine-v3", "consent.ride_home_agreed": "yes",
            **{consent_element_field(key): "on" for key in DEFAULT_CONSENT_ELEMENTS if key != "nausea"}}
    assert browser.post("/ui/intakes/mine/consent", data=form, headers={"Origin": HOST}).status_code == 303
    consent = stored(ui_app, "mine").consent
    assert "nausea" not in consent.elements_acknowledged and len(consent.elements_acknowledged) == 8
    missing = browser.get("/ui/intakes/mine").get_data(as_text=True)
    assert "Consent element not acknowledged: Nausea" in missing


def test_the_cssrs_review_is_recorded_as_the_signed_in_clinician(ui_app):  # noqa: F811
    ui_app.add_intake("mine", ui_app.patient)
    change(ui_app, "mine", lambda intake: record_cssrs(intake, MODERATE, T0 + timedelta(minutes=5), IntakeSettings()))
    browser = ui_app.browser()
    page = browser.get("/ui/intakes/mine").get_data(as_text=True)
    assert 'data-testid="cssrs-review-needed"' in page
    saved = browser.post("/ui/intakes/mine/cssrs_review", data={
        "csrf_token": _token(page), "cssrs_review.outcome": "proceed",
        "cssrs_review.note": "Psychiatry review: no plan; safety plan given"}, headers={"Origin": HOST})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    review = stored(ui_app, "mine").cssrs_review
    assert review.reviewed_by.display == "Grace Ng, RN" and review.outcome.value == "proceed"
    assert review.reviewed_by.reference and review.reviewed_by.reference.startswith("Practitioner/")
    assert 'data-testid="cssrs-review"' in browser.get("/ui/intakes/mine").get_data(as_text=True)


def test_a_nurse_cannot_set_the_trd_rule_aside(ui_app):  # noqa: F811
    ui_app.add_intake("mine", ui_app.patient)
    browser = ui_app.browser()
    page = browser.get("/ui/intakes/mine").get_data(as_text=True)
    refused = browser.post("/ui/intakes/mine/urgent_use", data={
        "csrf_token": _token(page), "urgent_use.reason": "acute suicidal ideation"},
        headers={"Origin": HOST, "Accept": "text/html"})
    assert refused.status_code == 403 and "Only a prescriber" in refused.get_data(as_text=True)
    assert stored(ui_app, "mine").urgent_use is None


def test_not_applicable_for_pregnancy_is_offered_only_when_the_record_allows_it(ui_app):  # noqa: F811
    ui_app.add_intake("mine", ui_app.patient)
    not_applicable = 'value="not-applicable"'
    assert not_applicable not in ui_app.browser().get("/ui/intakes/mine").get_data(as_text=True)  # sex unknown
    change(ui_app, "mine", lambda intake: record_patient(
        intake, PatientSummary(ui_app.patient, 57, AdministrativeSex.MALE, None)))
    assert ui_app.browser().get("/ui/intakes/mine").get_data(as_text=True).count(not_applicable) == 1
