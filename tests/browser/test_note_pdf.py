"""Printable documents in Chromium, against the browser stack (EHR sandbox with its SMART server, broker, the three
services with SMART required): the session page on paper keeps the banner and record without forms; a draft note printed from the browser says DRAFT (the print styles hide the forms and
navigation and show the mark; Chromium's own PDF of the page is read back with pypdf); once signed, the page's
download link gives the PDF made at signing, whose text names the patient, the dose, the signer and the signed time.
axe-core checks the signed note page with its download link."""
from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from tests.browser.axe import assert_accessible
from tests.browser.conftest import launch_from_chart, sandbox_token, screenshot
from tests.browser.test_ehr_status_pages import APP, APP_SCOPES, PRESCRIBER
from tests.browser.token_clinic import TokenClinic
from tests.integration.documentation.charting import new_patient
from tests.integration.documentation.clinic import DOCTOR, NURSE, clinical_times

pytestmark = pytest.mark.integration


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_a_draft_prints_as_draft_and_the_signed_note_downloads_as_its_pdf(smart_stack, page):
    patient_id, mrn = new_patient(smart_stack.ehr_client, family="Printable")
    token = sandbox_token(smart_stack, APP, patient_id, APP_SCOPES, user=PRESCRIBER, ehr_launch=True)
    clinic = TokenClinic(smart_stack.services[APP], smart_stack.bootstrap,
                          SimpleNamespace(client=smart_stack.ehr_client), token)
    order = clinic.publish_signed_order(mrn)
    clinic.wait_for_sessions(order)
    session_id = order.session_id(1)
    t = clinical_times(hours_ago=1)
    clinic.post(f"/sessions/{session_id}/defer", {"by": NURSE, "at": t(0), "reason": "BP high on recheck"})
    draft = clinic.post(f"/sessions/{session_id}/notes", {"by": DOCTOR, "at": t(5)}, expect=201)

    launch_from_chart(page, smart_stack, APP, patient_id, PRESCRIBER)
    app = smart_stack.services[APP]
    page.goto(f"{app}/ui/sessions/{session_id}")  # the session page on paper: the record and banner, no forms
    page.emulate_media(media="print")
    assert page.get_by_test_id("patient-banner").is_visible() and page.get_by_test_id("session-status").is_visible()
    assert page.locator("form:visible, nav:visible, button:visible").count() == 0
    page.emulate_media(media="screen")
    assert page.locator("form:visible").count() > 0
    page.goto(f"{app}/ui/sessions/{session_id}/note")
    assert not page.get_by_test_id("draft-print-mark").is_visible()  # on screen: the form, no mark
    page.emulate_media(media="print")
    assert page.get_by_test_id("draft-print-mark").is_visible()
    assert not page.get_by_test_id("note-form").is_visible() and not page.locator("nav").first.is_visible()
    printed = _text(page.pdf())  # what the browser's print gives
    assert "DRAFT: NOT SIGNED" in printed and "Printable" in printed and mrn in printed  # the banner stays
    assert "Sign the note" not in printed
    page.emulate_media(media="screen")

    page.get_by_test_id("attestation").check()
    page.get_by_role("button", name="Sign the note").click()
    assert "Signed by" in page.get_by_test_id("note-signed").inner_text()
    signer = re.search(r"Signed by (.+?) at ", page.get_by_test_id("note-signed").inner_text()).group(1)
    assert_accessible(page, "documentation-note-signed-with-pdf")
    with page.expect_download() as download:
        page.get_by_test_id("note-pdf-link").click()
    assert download.value.suggested_filename == f"procedure-note-{draft['note_id']}-v1.pdf"
    pdf = open(download.value.path(), "rb").read()
    text = _text(pdf)
    assert "Ehr Printable" in text and mrn in text and "1979-04-04" in text
    assert re.search(r"Ordered dose: [0-9.]+ mg/kg = [0-9.]+ mg IV", text)
    assert f"Signed by: {signer}" in text and "Signed at: " in text
    screenshot(page, "documentation-note-signed-with-pdf-link")
